//! The events waiting for the application: one queue per class, handed out in arrival order
//! across classes or class by class.

use std::collections::VecDeque;

use super::{ClassId, Event};

/// Pending events, each recorded under a class. Every event gets the next number of one
/// sequence, so each class's queue is in order and the oldest event of all is the oldest
/// head among the class queues.
///
/// Costs: [`push`](EventQueue::push) is O(1); [`pop`](EventQueue::pop) and
/// [`pop_in`](EventQueue::pop_in) are O(k), k the number of classes that have events
/// waiting (classes are few), never O(events). Memory is what the events need: the queue is
/// unbounded, as the single queue before it was, and the application bounds it by draining
/// after every poll. A living class keeps its queue's allocation for the next burst; a
/// retired (removed) class's is freed once its last event is taken.
#[derive(Debug)]
pub(crate) struct EventQueue<M> {
    /// Indexed by class id.
    classes: Vec<ClassQueue<M>>,
    /// The ids of the classes whose queue is not empty, in no order.
    busy: Vec<u16>,
    /// The number the next event gets.
    next_seq: u64,
    /// Events in all queues.
    len: usize,
}

#[derive(Debug)]
struct ClassQueue<M> {
    events: VecDeque<(u64, Event<M>)>,
    /// The class was removed: free the allocation once the queue is empty.
    retired: bool,
}

impl<M> Default for ClassQueue<M> {
    fn default() -> Self {
        ClassQueue {
            events: VecDeque::new(),
            retired: false,
        }
    }
}

impl<M> EventQueue<M> {
    pub(crate) fn new() -> Self {
        EventQueue {
            classes: Vec::new(),
            busy: Vec::new(),
            next_seq: 0,
            len: 0,
        }
    }

    /// Records `event` under `class`, after every event recorded so far.
    pub(crate) fn push(&mut self, class: ClassId, event: Event<M>) {
        let index = usize::from(class.0);
        if index >= self.classes.len() {
            self.classes.resize_with(index + 1, ClassQueue::default);
        }
        let queue = &mut self.classes[index];
        if queue.events.is_empty() {
            self.busy.push(class.0);
        }
        queue.events.push_back((self.next_seq, event));
        self.next_seq += 1;
        self.len += 1;
    }

    /// The oldest event of all.
    pub(crate) fn pop(&mut self) -> Option<Event<M>> {
        self.pop_ranked(|_| ())
    }

    /// The oldest event recorded under `class`.
    pub(crate) fn pop_in(&mut self, class: ClassId) -> Option<Event<M>> {
        let pos = self.busy.iter().position(|&c| c == class.0)?;
        self.take_head(pos)
    }

    /// The oldest event among the classes for which `rank` is highest; `rank` is asked once
    /// per class with events waiting.
    pub(crate) fn pop_ranked<K: Ord>(&mut self, rank: impl Fn(ClassId) -> K) -> Option<Event<M>> {
        let (pos, _) = self
            .busy
            .iter()
            .enumerate()
            .filter_map(|(pos, &class)| {
                let (seq, _) = self.classes[usize::from(class)].events.front()?;
                Some((pos, (rank(ClassId(class)), std::cmp::Reverse(*seq))))
            })
            .max_by(|(_, a), (_, b)| a.cmp(b))?;
        self.take_head(pos)
    }

    /// Takes the head of the queue of `self.busy[pos]`.
    fn take_head(&mut self, pos: usize) -> Option<Event<M>> {
        let queue = &mut self.classes[usize::from(*self.busy.get(pos)?)];
        let (_, event) = queue.events.pop_front()?;
        if queue.events.is_empty() {
            self.busy.swap_remove(pos);
            if queue.retired {
                queue.events = VecDeque::new();
            }
        }
        self.len -= 1;
        Some(event)
    }

    /// Events waiting in all queues.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Events waiting under `class`.
    pub(crate) fn len_in(&self, class: ClassId) -> usize {
        self.classes
            .get(usize::from(class.0))
            .map_or(0, |q| q.events.len())
    }

    /// The class was removed: its events stay, its allocation goes with the last of them.
    pub(crate) fn retire(&mut self, class: ClassId) {
        if let Some(queue) = self.classes.get_mut(usize::from(class.0)) {
            queue.retired = true;
            if queue.events.is_empty() {
                queue.events = VecDeque::new();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ConnId;
    use mio::Token;

    const A: ClassId = ClassId(0);
    const B: ClassId = ClassId(1);
    const C: ClassId = ClassId(2);

    fn msg(n: u32) -> Event<u32> {
        Event::Message {
            id: ConnId::from_token(Token(0)).unwrap(),
            msg: n,
        }
    }

    fn number(event: Option<Event<u32>>) -> Option<u32> {
        match event? {
            Event::Message { msg, .. } => Some(msg),
            other => panic!("not a message: {other:?}"),
        }
    }

    /// Pushes message `n` under the class of each pair.
    fn queue_of(pairs: &[(ClassId, u32)]) -> EventQueue<u32> {
        let mut queue = EventQueue::new();
        for &(class, n) in pairs {
            queue.push(class, msg(n));
        }
        queue
    }

    #[test]
    fn pop_hands_out_the_oldest_across_classes() {
        let mut queue = queue_of(&[(B, 1), (A, 2), (C, 3), (B, 4), (A, 5)]);
        let order: Vec<_> = std::iter::from_fn(|| number(queue.pop())).collect();
        assert_eq!(order, [1, 2, 3, 4, 5]);
        assert_eq!(queue.len(), 0);
    }

    #[test]
    fn events_of_one_class_come_out_without_disturbing_the_others() {
        let mut queue = queue_of(&[(A, 1), (B, 2), (A, 3), (B, 4), (C, 5), (B, 6)]);
        let of_b: Vec<_> = std::iter::from_fn(|| number(queue.pop_in(B))).collect();
        assert_eq!(of_b, [2, 4, 6]);
        assert_eq!((queue.len(), queue.len_in(A), queue.len_in(B)), (3, 2, 0));
        let rest: Vec<_> = std::iter::from_fn(|| number(queue.pop())).collect();
        assert_eq!(rest, [1, 3, 5]);
    }

    #[test]
    fn an_event_taken_by_class_is_not_handed_out_again() {
        let mut queue = queue_of(&[(A, 1), (B, 2), (A, 3)]);
        assert_eq!(number(queue.pop_in(A)), Some(1));
        assert_eq!(number(queue.pop()), Some(2));
        assert_eq!(number(queue.pop_in(B)), None);
        assert_eq!(number(queue.pop()), Some(3));
        assert_eq!(number(queue.pop()), None);
        assert_eq!(number(queue.pop_in(A)), None);
    }

    #[test]
    fn events_pushed_while_draining_a_class_come_after_the_ones_waiting() {
        let mut queue = queue_of(&[(A, 1), (B, 2)]);
        assert_eq!(number(queue.pop_in(A)), Some(1));
        queue.push(A, msg(3));
        queue.push(B, msg(4));
        let order: Vec<_> = std::iter::from_fn(|| number(queue.pop())).collect();
        assert_eq!(order, [2, 3, 4]);
    }

    #[test]
    fn a_class_never_seen_has_no_events() {
        let mut queue = queue_of(&[(A, 1)]);
        assert_eq!(queue.len_in(ClassId(40)), 0);
        assert!(queue.pop_in(ClassId(40)).is_none());
        assert_eq!(queue.len(), 1);
    }

    #[test]
    fn pop_ranked_takes_the_highest_rank_first_and_arrival_order_within_a_rank() {
        // A and C rank 1, B ranks 2.
        let rank = |class: ClassId| if class == B { 2 } else { 1 };
        let mut queue = queue_of(&[(A, 1), (C, 2), (B, 3), (A, 4), (B, 5), (C, 6)]);
        let order: Vec<_> = std::iter::from_fn(|| number(queue.pop_ranked(rank))).collect();
        assert_eq!(order, [3, 5, 1, 2, 4, 6]);
    }

    #[test]
    fn a_retired_class_keeps_its_events_and_frees_its_queue_after_the_last() {
        let mut queue = queue_of(&[(B, 1), (A, 2), (B, 3)]);
        queue.retire(B);
        assert_eq!(queue.len_in(B), 2);
        assert_eq!(number(queue.pop()), Some(1));
        assert_eq!(number(queue.pop_in(B)), Some(3));
        assert_eq!(queue.classes[1].events.capacity(), 0);
        assert_eq!(number(queue.pop()), Some(2));
        // A living class keeps its allocation for the next burst.
        assert!(queue.classes[0].events.capacity() > 0);
    }
}
