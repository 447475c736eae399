//! Output directories replaced as a whole: a reader sees either the complete old set of files or the
//! complete new one, never a mix, and a killed command leaves nothing a later one trips over.
//!
//! [`OutputDir::prepare`] checks the location before any work (a file in the way, a file above it, an
//! unwritable parent are [`OutDirError`]s, which the CLI reports as bad input), removes what a killed
//! earlier command left beside the target, and creates an empty *staging* directory beside it (same
//! parent, so same filesystem): `.<name>.dctwin-staging-<pid>-<n>`. The command writes its whole set
//! into [`OutputDir::path`]. [`OutputDir::commit`] then carries over every other entry of the old
//! directory (hard links, so nothing is copied and nothing is lost whatever happens next) and swaps the
//! staging directory into place: one `renameat2(RENAME_EXCHANGE)` on Linux, else (or where the
//! filesystem refuses it) rename the old directory away to `.<name>.dctwin-old-<pid>-<n>` and the new one
//! in, a window in which the target is briefly absent but never mixed. The old directory is then
//! removed. Rules and guarantees: `docs/outputs.md` § Guarantees.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{ReportError, sync_dir};

/// Set to `1` to skip `RENAME_EXCHANGE` and use the rename-away fallback (tests of the fallback).
pub const NO_EXCHANGE_ENV: &str = "DCTWIN_NO_RENAME_EXCHANGE";

// Staging and old directories stay hand-named rather than `tempfile::TempDir`s: the next command finds a killed
// one's leftovers by these names (and a live one's by its `flock`), which random names and drop-removal don't give.

/// Middle of a staging directory's name: `.<target name>.dctwin-staging-<pid>-<n>`.
const STAGING: &str = "dctwin-staging";
/// Middle of the name an old directory is renamed to by the fallback: `.<name>.dctwin-old-<pid>-<n>`.
const OLD: &str = "dctwin-old";

/// Distinguishes the staging and old directories of one process.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// An output location that cannot be used: the path as given and what is wrong with it.
///
/// `Display` gives both, e.g. `output directory out/run.json: is a file, not a directory`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutDirError {
    path: PathBuf,
    problem: String,
}

impl OutDirError {
    fn new(path: &Path, problem: impl Into<String>) -> Self {
        OutDirError {
            path: path.to_path_buf(),
            problem: problem.into(),
        }
    }

    /// The output directory as given.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl fmt::Display for OutDirError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "output directory {}: {}",
            self.path.display(),
            self.problem
        )
    }
}

impl std::error::Error for OutDirError {}

/// An output directory being replaced: write the new set into [`path`](Self::path), then
/// [`commit`](Self::commit). Dropped without a commit, the staging directory is removed and the target
/// is untouched.
#[derive(Debug)]
pub struct OutputDir {
    /// The target as given (for messages and the paths shown to the user).
    shown: PathBuf,
    /// The target, absolute, symbolic links resolved.
    resolved: PathBuf,
    staging: PathBuf,
    /// Names the command writes: never carried over from the old directory.
    owned: Vec<OsString>,
    /// Held while the staging directory is ours, so that another command's clean-up leaves it alone.
    _lock: Option<File>,
    committed: bool,
}

impl OutputDir {
    /// Checks `target` can be used as an output directory and prepares its replacement. `owned` lists
    /// the file names the command writes (its whole set, including ones a particular run may not
    /// write): those are never carried over from the old directory; every other entry is.
    ///
    /// `target` may exist (as a directory, or a symbolic link to one) or not (its missing parents are
    /// created now). It must not be a file or below one, and it and its parent must be writable. It
    /// must not be a mount point nor hold the current directory, since it is replaced as a whole.
    pub fn prepare(target: &Path, owned: &[&str]) -> Result<OutputDir, OutDirError> {
        let (resolved, exists) = locate(target)?;
        if exists {
            check_replaceable(target, &resolved)?;
        }
        let (parent, name) = split(&resolved);
        clean_leftovers(parent, name, &resolved);
        let staging = sibling(parent, name, STAGING);
        fs::create_dir(&staging).map_err(|e| {
            OutDirError::new(target, format!("cannot write in {}: {e}", parent.display()))
        })?;
        Ok(OutputDir {
            shown: target.to_path_buf(),
            resolved,
            _lock: lock(&staging, true).ok().flatten(),
            staging,
            owned: owned.iter().map(OsString::from).collect(),
            committed: false,
        })
    }

    /// The staging directory: write the new set here.
    pub fn path(&self) -> &Path {
        &self.staging
    }

    /// The target as given.
    pub fn shown_target(&self) -> &Path {
        &self.shown
    }

    /// Where a file written into the staging directory will be once committed (under the target as
    /// given).
    pub fn final_path(&self, staged: &Path) -> PathBuf {
        match staged.strip_prefix(&self.staging) {
            Ok(rel) => self.shown.join(rel),
            Err(_) => staged.to_path_buf(),
        }
    }

    /// Puts the new set in place: carries over the old directory's other entries, swaps the staging
    /// directory in, removes the old one. On an error before the swap the target is untouched.
    pub fn commit(mut self) -> Result<(), ReportError> {
        let mut attempts = 0;
        let old = loop {
            attempts += 1;
            if self.resolved.is_dir() {
                self.carry_over()?;
            }
            sync_dir(&self.staging)
                .map_err(|e| ReportError::new("syncing directory", &self.staging, e))?;
            let exchange = std::env::var_os(NO_EXCHANGE_ENV).is_none_or(|v| v != "1");
            match swap(&self.staging, &self.resolved, exchange) {
                Ok(old) => break old,
                // The target appeared (another command) between the check and the rename: again.
                Err(e) if attempts < 5 && is_not_empty(&e) => continue,
                Err(e) => return Err(ReportError::new("replacing", &self.resolved, e)),
            }
        };
        self.committed = true;
        let (parent, _) = split(&self.resolved);
        sync_dir(parent).map_err(|e| ReportError::new("syncing directory", parent, e))?;
        if let Some((old, _lock)) = old {
            // Best effort: what is left is removed by the next command into this target.
            let _ = remove_tree(&old);
        }
        Ok(())
    }

    /// Hard-links (or, where that fails, copies) every entry of the old directory the command does not
    /// own into the staging directory, keeping the old directory's permissions.
    fn carry_over(&self) -> Result<(), ReportError> {
        for entry in fs::read_dir(&self.resolved)
            .map_err(|e| ReportError::new("listing", &self.resolved, e))?
        {
            let entry = entry.map_err(|e| ReportError::new("listing", &self.resolved, e))?;
            let name = entry.file_name();
            if self.owned.contains(&name) || is_temp_file(&name) {
                continue;
            }
            let (from, to) = (entry.path(), self.staging.join(&name));
            if to.symlink_metadata().is_ok() {
                // Linked by an earlier attempt of this commit.
                continue;
            }
            link_entry(&from, &to).map_err(|e| ReportError::new("carrying over", &from, e))?;
        }
        let perms = fs::metadata(&self.resolved)
            .map_err(|e| ReportError::new("reading", &self.resolved, e))?
            .permissions();
        fs::set_permissions(&self.staging, perms)
            .map_err(|e| ReportError::new("setting permissions of", &self.staging, e))
    }
}

impl Drop for OutputDir {
    fn drop(&mut self) {
        if !self.committed {
            let _ = remove_tree(&self.staging);
        }
    }
}

/// Checks a directory a command appends to or updates in place (a sweep shard's): the same checks as
/// [`OutputDir::prepare`] on where it is, then creates it (with its parents) if missing.
pub fn ensure_dir(target: &Path) -> Result<(), OutDirError> {
    let (resolved, exists) = locate(target)?;
    if !exists {
        fs::create_dir(&resolved)
            .or_else(|e| if resolved.is_dir() { Ok(()) } else { Err(e) })
            .map_err(|e| OutDirError::new(target, format!("cannot be created: {e}")))?;
    }
    check_writable(target, &resolved)
}

/// The target resolved (absolute, symbolic links followed) and whether it exists. A missing target's
/// parents are created.
fn locate(shown: &Path) -> Result<(PathBuf, bool), OutDirError> {
    let bad = |problem: String| OutDirError::new(shown, problem);
    match fs::symlink_metadata(shown) {
        Ok(meta) => {
            let meta = if meta.file_type().is_symlink() {
                fs::metadata(shown)
                    .map_err(|e| bad(format!("is a symbolic link to nothing usable ({e})")))?
            } else {
                meta
            };
            if !meta.is_dir() {
                return Err(bad("is a file, not a directory".into()));
            }
            let resolved =
                fs::canonicalize(shown).map_err(|e| bad(format!("cannot be resolved: {e}")))?;
            if resolved.parent().is_none() {
                return Err(bad("is the root directory".into()));
            }
            Ok((resolved, true))
        }
        Err(e) if is_missing(&e) => {
            check_ancestors(shown)?;
            let name = shown
                .file_name()
                .ok_or_else(|| bad("does not end in a directory name".into()))?;
            let parent = match shown.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            fs::create_dir_all(parent)
                .map_err(|e| bad(format!("cannot create {}: {e}", parent.display())))?;
            let parent = fs::canonicalize(parent)
                .map_err(|e| bad(format!("cannot resolve {}: {e}", parent.display())))?;
            Ok((parent.join(name), false))
        }
        Err(e) => Err(bad(format!("cannot be inspected: {e}"))),
    }
}

/// A missing target: the nearest existing ancestor must be a directory.
fn check_ancestors(shown: &Path) -> Result<(), OutDirError> {
    for a in shown.ancestors().skip(1) {
        let a = if a.as_os_str().is_empty() {
            Path::new(".")
        } else {
            a
        };
        match fs::metadata(a) {
            Ok(m) if m.is_dir() => return Ok(()),
            Ok(_) => {
                return Err(OutDirError::new(
                    shown,
                    format!(
                        "cannot be created: {} is a file, not a directory",
                        a.display()
                    ),
                ));
            }
            Err(e) if is_missing(&e) => continue,
            Err(e) => {
                return Err(OutDirError::new(
                    shown,
                    format!("cannot be created: {}: {e}", a.display()),
                ));
            }
        }
    }
    Ok(())
}

/// An existing target that is to be replaced as a whole.
fn check_replaceable(shown: &Path, resolved: &Path) -> Result<(), OutDirError> {
    check_writable(shown, resolved)?;
    let whole = "outputs replace their directory as a whole (docs/outputs.md), so give a directory below it";
    if let Ok(cwd) = std::env::current_dir().and_then(fs::canonicalize)
        && cwd.starts_with(resolved)
    {
        return Err(OutDirError::new(
            shown,
            format!("holds the current directory; {whole}"),
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let (parent, _) = split(resolved);
        if let (Ok(a), Ok(b)) = (fs::metadata(resolved), fs::metadata(parent))
            && a.dev() != b.dev()
        {
            return Err(OutDirError::new(
                shown,
                format!("is a mount point; {whole}"),
            ));
        }
    }
    Ok(())
}

fn check_writable(shown: &Path, resolved: &Path) -> Result<(), OutDirError> {
    #[cfg(unix)]
    {
        use rustix::fs::{Access, access};
        access(
            resolved,
            Access::READ_OK | Access::WRITE_OK | Access::EXEC_OK,
        )
        .map_err(|e| OutDirError::new(shown, format!("is not writable: {}", io::Error::from(e))))
    }
    #[cfg(not(unix))]
    {
        match fs::metadata(resolved) {
            Ok(m) if m.permissions().readonly() => {
                Err(OutDirError::new(shown, "is not writable (read-only)"))
            }
            _ => Ok(()),
        }
    }
}

fn is_missing(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

fn is_not_empty(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::DirectoryNotEmpty | io::ErrorKind::AlreadyExists
    )
}

/// The parent and the name of a resolved target (which has both).
fn split(resolved: &Path) -> (&Path, &OsStr) {
    (
        resolved.parent().expect("a resolved target has a parent"),
        resolved.file_name().expect("a resolved target has a name"),
    )
}

/// `<parent>/.<name>.<kind>-<pid>-<n>`.
fn sibling(parent: &Path, name: &OsStr, kind: &str) -> PathBuf {
    let mut s = leftover_prefix(name, kind);
    s.push(format!(
        "{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    parent.join(s)
}

fn leftover_prefix(name: &OsStr, kind: &str) -> OsString {
    let mut s = OsString::from(".");
    s.push(name);
    s.push(format!(".{kind}-"));
    s
}

/// A temporary file of [`crate::write_atomic`] (`.<name>.tmp-<pid>-<n>`) left by a killed writer.
fn is_temp_file(name: &OsStr) -> bool {
    let Some(name) = name.to_str() else {
        return false;
    };
    let Some((_, tail)) = name.rsplit_once(".tmp-") else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    name.starts_with('.')
        && tail
            .split_once('-')
            .is_some_and(|(a, b)| digits(a) && digits(b))
}

/// Removes what killed commands left beside the target: staging directories, and old directories the
/// fallback renamed away. When the target is missing (a kill inside the fallback's window), the old
/// directory is put back first. Directories still locked belong to a live command and are left alone.
fn clean_leftovers(parent: &Path, name: &OsStr, target: &Path) {
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    let (staging, old) = (leftover_prefix(name, STAGING), leftover_prefix(name, OLD));
    let starts = |n: &OsStr, p: &OsStr| n.as_encoded_bytes().starts_with(p.as_encoded_bytes());
    let mut found: Vec<(bool, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let n = e.file_name();
            let is_old = starts(&n, &old);
            (is_old || starts(&n, &staging)).then(|| (is_old, e.path()))
        })
        .collect();
    found.sort();
    for (is_old, dir) in found {
        let Ok(_lock) = lock(&dir, false) else {
            continue;
        };
        if is_old && fs::symlink_metadata(target).is_err() && fs::rename(&dir, target).is_ok() {
            continue;
        }
        let _ = remove_tree(&dir);
    }
}

/// Another process holds a directory's lock: the directory is in use.
struct Busy;

/// Locks a directory (unix: an exclusive `flock` on it), held while the returned file is open. With
/// `wait` false, [`Busy`] when another process holds it. `None` where a directory cannot be opened or
/// locked (it is then treated as free).
fn lock(dir: &Path, wait: bool) -> Result<Option<File>, Busy> {
    let Ok(f) = File::open(dir) else {
        return Ok(None);
    };
    let held = if wait {
        f.lock().is_ok()
    } else {
        match f.try_lock() {
            Ok(()) => true,
            Err(fs::TryLockError::WouldBlock) => return Err(Busy),
            Err(fs::TryLockError::Error(_)) => false,
        }
    };
    Ok(held.then_some(f))
}

/// Swaps the staging directory into the target's place, with `RENAME_EXCHANGE` when `exchange` and
/// the system supports it. Returns where the old directory now is (and the lock held on it), or `None`
/// when there was none.
fn swap(
    staging: &Path,
    target: &Path,
    exchange: bool,
) -> io::Result<Option<(PathBuf, Option<File>)>> {
    if fs::symlink_metadata(target).is_err() {
        fs::rename(staging, target)?;
        return Ok(None);
    }
    // Held until the old directory is removed, so no other command's clean-up races ours.
    let old_lock = lock(target, true).ok().flatten();
    if exchange && exchange_dirs(staging, target)? {
        return Ok(Some((staging.to_path_buf(), old_lock)));
    }
    let (parent, name) = split(target);
    let old = sibling(parent, name, OLD);
    fs::rename(target, &old)?;
    // The window: the target is absent (never mixed) until the next rename.
    if let Err(e) = fs::rename(staging, target) {
        let _ = fs::rename(&old, target);
        return Err(e);
    }
    Ok(Some((old, old_lock)))
}

/// Exchanges two directories atomically (`renameat2(RENAME_EXCHANGE)`); `false` where the kernel or
/// the filesystem does not support it.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn exchange_dirs(a: &Path, b: &Path) -> io::Result<bool> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    use rustix::io::Errno;
    match renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE) {
        Ok(()) => Ok(true),
        Err(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn exchange_dirs(_a: &Path, _b: &Path) -> io::Result<bool> {
    Ok(false)
}

/// Carries one entry over: a hard link; a directory is recreated and its entries linked; where a link
/// fails (another filesystem below, no hard links, protected links), a copy.
fn link_entry(from: &Path, to: &Path) -> io::Result<()> {
    let meta = fs::symlink_metadata(from)?;
    if meta.is_dir() {
        fs::create_dir(to)?;
        for entry in fs::read_dir(from)? {
            let entry = entry?;
            link_entry(&entry.path(), &to.join(entry.file_name()))?;
        }
        fs::set_permissions(to, meta.permissions())?;
        return sync_dir(to);
    }
    if fs::hard_link(from, to).is_ok() {
        return Ok(());
    }
    #[cfg(unix)]
    if meta.file_type().is_symlink() {
        return std::os::unix::fs::symlink(fs::read_link(from)?, to);
    }
    fs::copy(from, to).map(|_| ())
}

/// Removes a directory tree; a missing one is fine. Entries in directories without write permission
/// (a read-only subdirectory carried over) are made removable first.
fn remove_tree(dir: &Path) -> io::Result<()> {
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            make_writable(dir);
            fs::remove_dir_all(dir)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        r => r,
    }
}

fn make_writable(dir: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(m) = fs::symlink_metadata(dir)
            && m.is_dir()
        {
            let mut p = m.permissions();
            p.set_mode(p.mode() | 0o700);
            let _ = fs::set_permissions(dir, p);
            if let Ok(entries) = fs::read_dir(dir) {
                for e in entries.flatten() {
                    make_writable(&e.path());
                }
            }
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory under the target dir.
    fn temp(tag: &str) -> PathBuf {
        let d = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../target/test-tmp")
            .join(format!("outdir-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        fs::canonicalize(d).unwrap()
    }

    /// The names in `dir`, sorted.
    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    const OWNED: &[&str] = &["a.txt", "b.txt", "c.txt"];

    fn write_set(dir: &OutputDir, names: &[&str], text: &str) {
        for n in names {
            crate::write_atomic(&dir.path().join(n), text.as_bytes()).unwrap();
        }
    }

    #[test]
    fn a_missing_target_is_created_with_its_parents() {
        let root = temp("missing");
        let target = root.join("x/y/out");
        let staged = OutputDir::prepare(&target, OWNED).unwrap();
        assert_eq!(staged.path().parent().unwrap(), root.join("x/y"));
        write_set(&staged, &["a.txt", "b.txt"], "new");
        assert_eq!(
            staged.final_path(&staged.path().join("a.txt")),
            target.join("a.txt")
        );
        staged.commit().unwrap();
        assert_eq!(names(&target), ["a.txt", "b.txt"]);
        assert_eq!(
            names(&root.join("x/y")),
            ["out"],
            "no staging left beside it"
        );
    }

    /// The old set goes, other entries stay (the same files, linked), a killed writer's temporary file
    /// goes, and nothing is left beside the target — with the exchange and with the fallback.
    #[test]
    fn an_existing_target_is_replaced_and_other_entries_carried_over() {
        for exchange in [true, false] {
            let root = temp(&format!("replace-{exchange}"));
            let target = root.join("out");
            fs::create_dir_all(target.join("mine/deeper")).unwrap();
            for (n, t) in [
                ("a.txt", "old"),
                ("c.txt", "old, not written by the new run"),
                ("notes.md", "mine"),
                ("mine/deeper/x", "mine too"),
                (".a.txt.tmp-12-3", "partial"),
            ] {
                fs::write(target.join(n), t).unwrap();
            }
            #[cfg(unix)]
            std::os::unix::fs::symlink("notes.md", target.join("link")).unwrap();
            let staged = OutputDir::prepare(&target, OWNED).unwrap();
            write_set(&staged, &["a.txt", "b.txt"], "new");
            // Commit by hand to pick the swap.
            staged.carry_over().unwrap();
            let old = swap(&staged.staging, &staged.resolved, exchange).unwrap();
            let (old_path, _lock) = old.expect("there was an old directory");
            assert_eq!(fs::read_to_string(old_path.join("a.txt")).unwrap(), "old");
            remove_tree(&old_path).unwrap();
            let mut staged = staged;
            staged.committed = true;
            drop(staged);
            let mut want = vec!["a.txt", "b.txt", "mine", "notes.md"];
            if cfg!(unix) {
                want.insert(2, "link");
            }
            assert_eq!(names(&target), want);
            assert_eq!(fs::read_to_string(target.join("a.txt")).unwrap(), "new");
            assert_eq!(fs::read_to_string(target.join("link")).unwrap(), "mine");
            assert_eq!(
                fs::read_to_string(target.join("mine/deeper/x")).unwrap(),
                "mine too"
            );
            assert_eq!(names(&root), ["out"]);
        }
    }

    #[test]
    fn carried_over_files_are_the_same_files() {
        let root = temp("same");
        let target = root.join("out");
        fs::create_dir_all(&target).unwrap();
        fs::write(target.join("notes.md"), "mine").unwrap();
        let before = fs::metadata(target.join("notes.md")).unwrap();
        let staged = OutputDir::prepare(&target, OWNED).unwrap();
        write_set(&staged, &["a.txt"], "new");
        staged.commit().unwrap();
        let after = fs::metadata(target.join("notes.md")).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            assert_eq!(before.ino(), after.ino());
            assert_eq!(after.nlink(), 1, "the old directory's link is gone");
        }
        let _ = (before, after);
    }

    #[test]
    fn dropped_without_commit_leaves_the_target_as_it_was() {
        let root = temp("drop");
        let target = root.join("out");
        fs::create_dir_all(&target).unwrap();
        fs::write(target.join("a.txt"), "old").unwrap();
        let staged = OutputDir::prepare(&target, OWNED).unwrap();
        write_set(&staged, &["a.txt"], "new");
        drop(staged);
        assert_eq!(fs::read_to_string(target.join("a.txt")).unwrap(), "old");
        assert_eq!(names(&root), ["out"]);
    }

    #[test]
    fn unusable_locations_are_named_with_what_is_wrong() {
        let root = temp("bad");
        let file = root.join("file");
        fs::write(&file, "x").unwrap();
        let err = |p: &Path| OutputDir::prepare(p, OWNED).unwrap_err().to_string();
        assert_eq!(
            err(&file),
            format!(
                "output directory {}: is a file, not a directory",
                file.display()
            )
        );
        let below = file.join("sub/out");
        assert_eq!(
            err(&below),
            format!(
                "output directory {}: cannot be created: {} is a file, not a directory",
                below.display(),
                file.display()
            )
        );
        assert!(err(Path::new("/")).ends_with("is the root directory"));
        assert!(
            ensure_dir(&below)
                .unwrap_err()
                .to_string()
                .contains("is a file")
        );
        #[cfg(unix)]
        {
            let dangling = root.join("dangling");
            std::os::unix::fs::symlink(root.join("nowhere"), &dangling).unwrap();
            assert!(err(&dangling).contains("is a symbolic link to nothing usable"));
        }
        assert!(!file.join("sub").exists());
    }

    #[cfg(unix)]
    #[test]
    fn a_link_to_a_directory_replaces_the_directory_and_stays_a_link() {
        let root = temp("link");
        fs::create_dir_all(root.join("real")).unwrap();
        fs::write(root.join("real/a.txt"), "old").unwrap();
        std::os::unix::fs::symlink("real", root.join("out")).unwrap();
        let staged = OutputDir::prepare(&root.join("out"), OWNED).unwrap();
        write_set(&staged, &["a.txt"], "new");
        staged.commit().unwrap();
        assert!(
            fs::symlink_metadata(root.join("out"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(root.join("real/a.txt")).unwrap(), "new");
        assert_eq!(names(&root), ["out", "real"]);
    }

    #[test]
    fn leftovers_of_killed_commands_are_removed_and_a_set_aside_old_directory_restored() {
        let root = temp("leftovers");
        let target = root.join("out");
        // Killed while staging, and killed after the exchange (the old set under a staging name).
        for n in [
            ".out.dctwin-staging-999999-0",
            ".out.dctwin-staging-999999-1",
        ] {
            fs::create_dir_all(root.join(n)).unwrap();
            fs::write(root.join(n).join("a.txt"), "stale").unwrap();
        }
        // Killed inside the fallback's window: the target is missing, the old set aside.
        fs::create_dir_all(root.join(".out.dctwin-old-999999-2")).unwrap();
        fs::write(root.join(".out.dctwin-old-999999-2/a.txt"), "old").unwrap();
        fs::write(root.join(".out.dctwin-old-999999-2/notes.md"), "mine").unwrap();
        // Another target's leftovers are not this one's business.
        fs::create_dir_all(root.join(".other.dctwin-staging-999999-0")).unwrap();
        let staged = OutputDir::prepare(&target, OWNED).unwrap();
        assert_eq!(fs::read_to_string(target.join("a.txt")).unwrap(), "old");
        let ours = format!(".out.dctwin-staging-{}-", std::process::id());
        let mut left = names(&root);
        left.retain(|n| !n.starts_with(&ours));
        assert_eq!(left, [".other.dctwin-staging-999999-0", "out"]);
        write_set(&staged, &["a.txt"], "new");
        staged.commit().unwrap();
        assert_eq!(names(&target), ["a.txt", "notes.md"]);
        assert_eq!(names(&root), [".other.dctwin-staging-999999-0", "out"]);
    }

    #[cfg(unix)]
    #[test]
    fn a_staging_directory_in_use_is_left_alone() {
        let root = temp("in-use");
        let busy = root.join(".out.dctwin-staging-999999-7");
        fs::create_dir_all(&busy).unwrap();
        let held = File::open(&busy).unwrap();
        held.lock().unwrap();
        let staged = OutputDir::prepare(&root.join("out"), OWNED).unwrap();
        assert!(
            busy.is_dir(),
            "a locked staging directory belongs to a live command"
        );
        write_set(&staged, &["a.txt"], "new");
        staged.commit().unwrap();
        assert!(busy.is_dir());
        drop(held);
        drop(OutputDir::prepare(&root.join("out"), OWNED).unwrap());
        assert!(!busy.exists(), "unlocked, it is a leftover");
    }

    #[test]
    fn temporary_files_of_write_atomic_are_recognised() {
        for (n, yes) in [
            (".summary.json.tmp-4242-0", true),
            (".a.tmp-1-22", true),
            ("summary.json.tmp-4242-0", false),
            (".a.tmp-1-", false),
            (".a.tmp-x-1", false),
            (".notes.tmp", false),
        ] {
            assert_eq!(is_temp_file(OsStr::new(n)), yes, "{n}");
        }
    }
}
