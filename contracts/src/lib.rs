//! Worked contracts (in progress).
