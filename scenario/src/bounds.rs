//! Bounds every number of a scenario must keep, whatever it means: checked on the parsed scenario (after `--set`
//! overrides) before any model looks at it, so that no later conversion (to simulated time, to a count, to a
//! rate) can overflow, turn NaN into a silent zero or run without end.
//!
//! - Every floating-point number is finite (no NaN, no ±∞).
//! - A time (a field named `…_s`, units in names) lies within ±[`MAX_TIME_S`] (100 years): simulated time is
//!   integer nanoseconds in a `u64`, 584 years, so any sum of two such times is representable.
//! - A rate (a field named `…_per_s`) lies within [0, [`MAX_RATE_PER_S`]].
//! - Any other number lies within ±[`MAX_MAGNITUDE`] (10¹⁵, beyond any quantity a datacenter scenario names:
//!   parameters, tokens, bytes, watts, litres), except the `seed`, which may be any `u64`.
//!
//! The model configs' own checks (positive, a fraction, a known name, …) come after these.
//!
//! The walk is a `serde::Serializer` that visits the scenario's fields with their dotted paths (the paths
//! `--set` takes: `workload.Inference.autoscaling.interval_s`, list entries as `[i]`).

use std::fmt;

use serde::ser::{self, Serialize};

/// The longest time a scenario may name, s (100 years).
pub const MAX_TIME_S: f64 = 100.0 * 365.25 * 86_400.0;
/// The largest rate a scenario may name, per s (a billion events per second).
pub const MAX_RATE_PER_S: f64 = 1e9;
/// The largest magnitude of any other number.
pub const MAX_MAGNITUDE: f64 = 1e15;

/// The first number of `value` out of bounds: its field path and what is wrong.
pub fn check<T: Serialize>(value: &T) -> Result<(), (String, String)> {
    let mut w = Walker {
        path: Vec::new(),
        found: None,
    };
    // The walker's own error only stops the walk early; `found` holds the problem.
    let _ = value.serialize(&mut w);
    match w.found {
        Some(p) => Err(p),
        None => Ok(()),
    }
}

struct Walker {
    path: Vec<String>,
    found: Option<(String, String)>,
}

/// Stops the walk (the problem is in `Walker::found`).
#[derive(Debug)]
struct Stop;

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("stop")
    }
}

impl std::error::Error for Stop {}

impl ser::Error for Stop {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Stop
    }
}

impl Walker {
    fn path(&self) -> String {
        let mut s = String::new();
        for seg in &self.path {
            if !seg.starts_with('[') && !s.is_empty() {
                s.push('.');
            }
            s.push_str(seg);
        }
        s
    }

    fn field(&self) -> &str {
        self.path
            .iter()
            .rev()
            .find(|s| !s.starts_with('['))
            .map_or("", String::as_str)
    }

    fn fail(&mut self, message: String) -> Result<(), Stop> {
        self.found = Some((self.path(), message));
        Err(Stop)
    }

    fn number(&mut self, v: f64, integer: bool) -> Result<(), Stop> {
        if !v.is_finite() {
            return self.fail(format!("must be a finite number, found {v}"));
        }
        let field = self.field().to_string();
        if field == "seed" && integer {
            return Ok(());
        }
        if field.ends_with("_per_s") {
            if !(0.0..=MAX_RATE_PER_S).contains(&v) {
                return self.fail(format!(
                    "a rate must lie in [0, {MAX_RATE_PER_S:e}] per second, found {v:e}"
                ));
            }
        } else if field.ends_with("_s") {
            if v.abs() > MAX_TIME_S {
                return self.fail(format!(
                    "{v:e} s is beyond the longest time a scenario may name, 100 years ({MAX_TIME_S:.4e} s)"
                ));
            }
        } else if v.abs() > MAX_MAGNITUDE {
            return self.fail(format!(
                "{v:e} is beyond the largest number a scenario may name ({MAX_MAGNITUDE:e})"
            ));
        }
        Ok(())
    }

    fn nested<T: ?Sized + Serialize>(&mut self, seg: String, value: &T) -> Result<(), Stop> {
        self.path.push(seg);
        let r = value.serialize(&mut *self);
        self.path.pop();
        r
    }
}

impl<'a> ser::Serializer for &'a mut Walker {
    type Ok = ();
    type Error = Stop;
    type SerializeSeq = Seq<'a>;
    type SerializeTuple = Seq<'a>;
    type SerializeTupleStruct = Seq<'a>;
    type SerializeTupleVariant = Seq<'a>;
    type SerializeMap = Map<'a>;
    type SerializeStruct = &'a mut Walker;
    type SerializeStructVariant = &'a mut Walker;

    fn serialize_bool(self, _: bool) -> Result<(), Stop> {
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), Stop> {
        self.number(v as f64, true)
    }
    fn serialize_i16(self, v: i16) -> Result<(), Stop> {
        self.number(v as f64, true)
    }
    fn serialize_i32(self, v: i32) -> Result<(), Stop> {
        self.number(v as f64, true)
    }
    fn serialize_i64(self, v: i64) -> Result<(), Stop> {
        self.number(v as f64, true)
    }
    fn serialize_u8(self, v: u8) -> Result<(), Stop> {
        self.number(v as f64, true)
    }
    fn serialize_u16(self, v: u16) -> Result<(), Stop> {
        self.number(v as f64, true)
    }
    fn serialize_u32(self, v: u32) -> Result<(), Stop> {
        self.number(v as f64, true)
    }
    fn serialize_u64(self, v: u64) -> Result<(), Stop> {
        self.number(v as f64, true)
    }
    fn serialize_f32(self, v: f32) -> Result<(), Stop> {
        self.number(v as f64, false)
    }
    fn serialize_f64(self, v: f64) -> Result<(), Stop> {
        self.number(v, false)
    }
    fn serialize_char(self, _: char) -> Result<(), Stop> {
        Ok(())
    }
    fn serialize_str(self, _: &str) -> Result<(), Stop> {
        Ok(())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), Stop> {
        Ok(())
    }
    fn serialize_none(self) -> Result<(), Stop> {
        Ok(())
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<(), Stop> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Stop> {
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Stop> {
        Ok(())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Result<(), Stop> {
        Ok(())
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Stop> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Stop> {
        self.nested(variant.to_string(), value)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Seq<'a>, Stop> {
        Ok(Seq {
            w: self,
            i: 0,
            variant: false,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Seq<'a>, Stop> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Seq<'a>, Stop> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Seq<'a>, Stop> {
        self.path.push(variant.to_string());
        Ok(Seq {
            w: self,
            i: 0,
            variant: true,
        })
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Map<'a>, Stop> {
        Ok(Map { w: self, key: None })
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, Stop> {
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Self, Stop> {
        self.path.push(variant.to_string());
        Ok(self)
    }
}

/// A list or tuple being walked: entries as `[i]`.
struct Seq<'a> {
    w: &'a mut Walker,
    i: usize,
    variant: bool,
}

impl Seq<'_> {
    fn element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Stop> {
        let seg = format!("[{}]", self.i);
        self.i += 1;
        self.w.nested(seg, value)
    }
    fn finish(self) -> Result<(), Stop> {
        if self.variant {
            self.w.path.pop();
        }
        Ok(())
    }
}

impl ser::SerializeSeq for Seq<'_> {
    type Ok = ();
    type Error = Stop;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Stop> {
        self.element(value)
    }
    fn end(self) -> Result<(), Stop> {
        self.finish()
    }
}

impl ser::SerializeTuple for Seq<'_> {
    type Ok = ();
    type Error = Stop;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Stop> {
        self.element(value)
    }
    fn end(self) -> Result<(), Stop> {
        self.finish()
    }
}

impl ser::SerializeTupleStruct for Seq<'_> {
    type Ok = ();
    type Error = Stop;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Stop> {
        self.element(value)
    }
    fn end(self) -> Result<(), Stop> {
        self.finish()
    }
}

impl ser::SerializeTupleVariant for Seq<'_> {
    type Ok = ();
    type Error = Stop;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Stop> {
        self.element(value)
    }
    fn end(self) -> Result<(), Stop> {
        self.finish()
    }
}

/// A map being walked: entries under their key (string keys; others by position).
struct Map<'a> {
    w: &'a mut Walker,
    key: Option<String>,
}

/// Reads a map key as text.
struct KeyText(Option<String>);

impl ser::Serializer for &mut KeyText {
    type Ok = ();
    type Error = Stop;
    type SerializeSeq = ser::Impossible<(), Stop>;
    type SerializeTuple = ser::Impossible<(), Stop>;
    type SerializeTupleStruct = ser::Impossible<(), Stop>;
    type SerializeTupleVariant = ser::Impossible<(), Stop>;
    type SerializeMap = ser::Impossible<(), Stop>;
    type SerializeStruct = ser::Impossible<(), Stop>;
    type SerializeStructVariant = ser::Impossible<(), Stop>;
    fn serialize_str(self, v: &str) -> Result<(), Stop> {
        self.0 = Some(v.to_string());
        Ok(())
    }
    fn serialize_bool(self, _: bool) -> Result<(), Stop> {
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), Stop> {
        self.serialize_i64(v as i64)
    }
    fn serialize_i16(self, v: i16) -> Result<(), Stop> {
        self.serialize_i64(v as i64)
    }
    fn serialize_i32(self, v: i32) -> Result<(), Stop> {
        self.serialize_i64(v as i64)
    }
    fn serialize_i64(self, v: i64) -> Result<(), Stop> {
        self.0 = Some(v.to_string());
        Ok(())
    }
    fn serialize_u8(self, v: u8) -> Result<(), Stop> {
        self.serialize_u64(v as u64)
    }
    fn serialize_u16(self, v: u16) -> Result<(), Stop> {
        self.serialize_u64(v as u64)
    }
    fn serialize_u32(self, v: u32) -> Result<(), Stop> {
        self.serialize_u64(v as u64)
    }
    fn serialize_u64(self, v: u64) -> Result<(), Stop> {
        self.0 = Some(v.to_string());
        Ok(())
    }
    fn serialize_f32(self, _: f32) -> Result<(), Stop> {
        Ok(())
    }
    fn serialize_f64(self, _: f64) -> Result<(), Stop> {
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), Stop> {
        self.0 = Some(v.to_string());
        Ok(())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), Stop> {
        Ok(())
    }
    fn serialize_none(self) -> Result<(), Stop> {
        Ok(())
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<(), Stop> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Stop> {
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Stop> {
        Ok(())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, v: &'static str) -> Result<(), Stop> {
        self.0 = Some(v.to_string());
        Ok(())
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Stop> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Stop> {
        Ok(())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Stop> {
        Err(Stop)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Stop> {
        Err(Stop)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Stop> {
        Err(Stop)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Stop> {
        Err(Stop)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Stop> {
        Err(Stop)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Stop> {
        Err(Stop)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Stop> {
        Err(Stop)
    }
}

impl ser::SerializeMap for Map<'_> {
    type Ok = ();
    type Error = Stop;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), Stop> {
        let mut k = KeyText(None);
        let _ = key.serialize(&mut k);
        self.key = k.0;
        Ok(())
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Stop> {
        let seg = self.key.take().unwrap_or_else(|| "[key]".to_string());
        self.w.nested(seg, value)
    }
    fn end(self) -> Result<(), Stop> {
        Ok(())
    }
}

impl ser::SerializeStruct for &mut Walker {
    type Ok = ();
    type Error = Stop;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Stop> {
        self.nested(key.to_string(), value)
    }
    fn end(self) -> Result<(), Stop> {
        Ok(())
    }
}

impl ser::SerializeStructVariant for &mut Walker {
    type Ok = ();
    type Error = Stop;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Stop> {
        self.nested(key.to_string(), value)
    }
    fn end(self) -> Result<(), Stop> {
        self.path.pop();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde::Serialize;

    use super::*;

    #[derive(Serialize)]
    struct Inner {
        interval_s: f64,
        rate_per_s: f64,
        params: f64,
        seed: u64,
    }

    #[derive(Serialize)]
    enum Kind {
        Steps { list: Vec<Inner> },
    }

    #[derive(Serialize)]
    struct Outer {
        kind: Kind,
        maybe: Option<Inner>,
    }

    fn inner(interval_s: f64, rate_per_s: f64, params: f64) -> Inner {
        Inner {
            interval_s,
            rate_per_s,
            params,
            seed: u64::MAX,
        }
    }

    fn outer(i: Inner) -> Outer {
        Outer {
            kind: Kind::Steps {
                list: vec![inner(1.0, 1.0, 1.0), i],
            },
            maybe: Some(inner(5.0, 2.0, 7e10)),
        }
    }

    #[test]
    fn in_bounds_passes_and_each_bound_names_its_field() {
        assert_eq!(check(&outer(inner(3600.0, 10.0, 7e10))), Ok(()));
        let path = |e: Result<(), (String, String)>| e.unwrap_err().0;
        assert_eq!(
            path(check(&outer(inner(1e19, 1.0, 1.0)))),
            "kind.Steps.list[1].interval_s"
        );
        assert_eq!(
            path(check(&outer(inner(1.0, 1e19, 1.0)))),
            "kind.Steps.list[1].rate_per_s"
        );
        assert_eq!(
            path(check(&outer(inner(1.0, -1.0, 1.0)))),
            "kind.Steps.list[1].rate_per_s"
        );
        assert_eq!(
            path(check(&outer(inner(1.0, 1.0, 1e308)))),
            "kind.Steps.list[1].params"
        );
        let (p, m) = check(&outer(inner(f64::NAN, 1.0, 1.0))).unwrap_err();
        assert_eq!(p, "kind.Steps.list[1].interval_s");
        assert!(m.contains("finite"), "{m}");
        assert!(check(&outer(inner(f64::INFINITY, 1.0, 1.0))).is_err());
    }
}
