//! Connection classes: groups of connections with their own priority and read budget.
//! Each event is recorded under a class as well, so an application can take one class's
//! events first ([`Driver::next_event_in`](crate::Driver::next_event_in)).

use super::{ConnId, DriverStats};

/// Identifies a connection class of one [`Driver`](crate::Driver). Ids are never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClassId(pub(crate) u16);

impl ClassId {
    /// The class every driver starts with; new connections go here unless configured
    /// otherwise.
    pub const DEFAULT: ClassId = ClassId(0);
}

/// How a class shares the driver's attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClassConfig {
    /// Ready connections of higher-priority classes are processed first in every turn.
    pub priority: u8,
    /// Bytes the class's members may read from their sockets per turn, all together. When it
    /// runs out, the rest waits for the next turn (their sockets are left unread), so a
    /// flooding class cannot starve the others.
    pub read_budget: usize,
}

impl Default for ClassConfig {
    fn default() -> Self {
        ClassConfig {
            priority: 0,
            read_budget: 4 * 1024 * 1024,
        }
    }
}

/// What happens to the members of a removed class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// They move to this class (each gets an [`Event::Moved`](crate::Event::Moved)).
    MoveTo(ClassId),
    /// They are closed at once: the socket is reset and each gets an
    /// [`Event::Left`](crate::Event::Left) with
    /// [`LeftReason::ClassRemoved`](crate::LeftReason::ClassRemoved).
    Close,
}

#[derive(Debug)]
pub(crate) struct Class {
    pub(crate) config: ClassConfig,
    pub(crate) paused: bool,
    pub(crate) budget_left: usize,
    pub(crate) members: Vec<ConnId>,
    pub(crate) stats: DriverStats,
}

impl Class {
    pub(crate) fn new(config: ClassConfig) -> Self {
        Class {
            config,
            paused: false,
            budget_left: config.read_budget,
            members: Vec::new(),
            stats: DriverStats::default(),
        }
    }

    /// What a member may read now.
    pub(crate) fn read_allowance(&self) -> usize {
        if self.paused { 0 } else { self.budget_left }
    }
}
