//! Connection ids and the generational slab that holds connections.

use mio::Token;

/// Identifies a connection for as long as it lives. A slot index plus a generation, so an id
/// kept after its connection left never reaches a newer connection in the same slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId {
    index: u32,
    generation: u32,
}

/// Tokens at or above this value belong to listeners and the waker.
pub(crate) const FIRST_RESERVED_TOKEN: usize = usize::MAX - 1024;

impl ConnId {
    pub(crate) fn token(self) -> Token {
        Token((self.generation as usize) << 32 | self.index as usize)
    }

    pub(crate) fn from_token(token: Token) -> Option<Self> {
        if token.0 >= FIRST_RESERVED_TOKEN {
            return None;
        }
        Some(ConnId {
            index: (token.0 & 0xffff_ffff) as u32,
            generation: (token.0 >> 32) as u32,
        })
    }
}

impl std::fmt::Display for ConnId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{}.{}", self.index, self.generation)
    }
}

enum Slot<V> {
    Occupied { generation: u32, value: V },
    Vacant { generation: u32 },
}

/// Values addressed by [`ConnId`]; freed slots are reused with the next generation.
pub(crate) struct Slab<V> {
    slots: Vec<Slot<V>>,
    free: Vec<u32>,
    len: usize,
}

impl<V> Slab<V> {
    pub(crate) fn new() -> Self {
        Slab {
            slots: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The id the next `insert` will return.
    pub(crate) fn next_id(&self) -> Option<ConnId> {
        match self.free.last() {
            Some(&index) => match self.slots.get(index as usize) {
                Some(Slot::Vacant { generation }) => Some(ConnId {
                    index,
                    // 31 bits, so that connection tokens stay below the reserved ones.
                    generation: generation.wrapping_add(1) & 0x7fff_ffff,
                }),
                _ => None,
            },
            None => {
                let index = u32::try_from(self.slots.len()).ok()?;
                Some(ConnId {
                    index,
                    generation: 0,
                })
            }
        }
    }

    /// Inserts at the slot of [`next_id`](Slab::next_id); `None` when the slab is full
    /// (2^32 slots).
    pub(crate) fn insert(&mut self, value: V) -> Option<ConnId> {
        let id = self.next_id()?;
        let slot = Slot::Occupied {
            generation: id.generation,
            value,
        };
        if id.index as usize == self.slots.len() {
            self.slots.push(slot);
        } else {
            self.free.pop();
            self.slots[id.index as usize] = slot;
        }
        self.len += 1;
        Some(id)
    }

    pub(crate) fn get_mut(&mut self, id: ConnId) -> Option<&mut V> {
        match self.slots.get_mut(id.index as usize) {
            Some(Slot::Occupied { generation, value }) if *generation == id.generation => {
                Some(value)
            }
            _ => None,
        }
    }

    pub(crate) fn get(&self, id: ConnId) -> Option<&V> {
        match self.slots.get(id.index as usize) {
            Some(Slot::Occupied { generation, value }) if *generation == id.generation => {
                Some(value)
            }
            _ => None,
        }
    }

    pub(crate) fn remove(&mut self, id: ConnId) -> Option<V> {
        let slot = self.slots.get_mut(id.index as usize)?;
        match slot {
            Slot::Occupied { generation, .. } if *generation == id.generation => {
                let old = std::mem::replace(
                    slot,
                    Slot::Vacant {
                        generation: id.generation,
                    },
                );
                self.free.push(id.index);
                self.len -= 1;
                match old {
                    Slot::Occupied { value, .. } => Some(value),
                    Slot::Vacant { .. } => None,
                }
            }
            _ => None,
        }
    }

    /// Ids of every value, for whole-driver operations such as shutdown.
    pub(crate) fn ids(&self) -> Vec<ConnId> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(index, slot)| match slot {
                Slot::Occupied { generation, .. } => Some(ConnId {
                    index: index as u32,
                    generation: *generation,
                }),
                Slot::Vacant { .. } => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_id_never_reaches_a_new_connection_in_the_same_slot() {
        let mut slab = Slab::new();
        let old = slab.insert("old").unwrap();
        assert_eq!(slab.remove(old), Some("old"));
        let new = slab.insert("new").unwrap();
        assert_ne!(old, new);
        assert_eq!(slab.get(old), None);
        assert_eq!(slab.remove(old), None);
        assert_eq!(slab.get(new), Some(&"new"));
        assert_eq!(slab.len(), 1);
    }

    #[test]
    fn ids_round_trip_through_tokens() {
        let mut slab = Slab::new();
        for _ in 0..3 {
            let id = slab.insert(()).unwrap();
            slab.remove(id);
        }
        let id = slab.insert(()).unwrap();
        assert_eq!(ConnId::from_token(id.token()), Some(id));
        assert_eq!(ConnId::from_token(Token(usize::MAX)), None);
    }

    #[test]
    fn next_id_predicts_insert() {
        let mut slab = Slab::new();
        let a = slab.insert(1).unwrap();
        slab.insert(2).unwrap();
        slab.remove(a);
        let predicted = slab.next_id();
        assert_eq!(slab.insert(3), predicted);
    }
}
