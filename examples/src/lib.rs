//! Services shared by the examples (in progress).
