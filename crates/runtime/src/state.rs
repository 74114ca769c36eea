//! The state interface every stateful operator keeps its state behind: memory accounting now,
//! snapshot and restore for checkpoints (the checkpoint issue fills these in per operator).

/// Keyed operator state with a memory accounting hook.
pub trait OperatorState {
    /// Approximate heap bytes held.
    fn memory_bytes(&self) -> usize;
}
