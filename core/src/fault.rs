//! Deliberate bugs, compiled in only with the `fault-injection` feature, so
//! that the simulators can prove their checkers fail when the rules break.

/// A bug the center can be told to have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// A withdrawn ring (rejected, unanswered, agent gone) does not put the
    /// visitor back in the queue: they wait forever.
    DropRequeue,
}
