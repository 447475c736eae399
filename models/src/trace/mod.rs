//! Trace readers (work in progress).
