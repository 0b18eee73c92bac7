//! The users own flow as a child process (placeholder: being written).
