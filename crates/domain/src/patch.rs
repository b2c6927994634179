//! A field of a patch: absent keeps the current value, null clears it, a
//! value sets it.

use crate::error::{Rule, ValidationError, ValidationResult};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Patch<T> {
    #[default]
    Keep,
    Clear,
    Set(T),
}

impl<T> Patch<T> {
    /// The patched value of an optional field.
    pub fn optional(self, current: Option<T>) -> Option<T> {
        match self {
            Patch::Keep => current,
            Patch::Clear => None,
            Patch::Set(v) => Some(v),
        }
    }

    /// The patched value of a required field: clearing it is refused.
    pub fn required(self, field: &str, current: T) -> ValidationResult<T> {
        match self {
            Patch::Keep => Ok(current),
            Patch::Clear => Err(ValidationError::new(field, Rule::CannotClear)),
            Patch::Set(v) => Ok(v),
        }
    }

    /// Patches an optional field in place.
    pub fn apply(self, slot: &mut Option<T>) {
        *slot = self.optional(slot.take());
    }

    /// Patches a required field in place.
    pub fn apply_required(self, field: &str, slot: &mut T) -> ValidationResult<()> {
        match self {
            Patch::Keep => Ok(()),
            Patch::Clear => Err(ValidationError::new(field, Rule::CannotClear)),
            Patch::Set(v) => {
                *slot = v;
                Ok(())
            }
        }
    }
}

impl<T: Clone> Patch<T> {
    /// `value` where `field` is among `changed` (none clears it), else keep:
    /// a patch that makes a record equal to another in the named fields.
    pub fn pick(changed: &[&str], field: &str, value: Option<&T>) -> Self {
        match value {
            _ if !changed.contains(&field) => Patch::Keep,
            Some(v) => Patch::Set(v.clone()),
            None => Patch::Clear,
        }
    }
}

impl<T> Patch<Vec<T>> {
    /// Patches a list in place: null clears it to empty.
    pub fn apply_list(self, slot: &mut Vec<T>) {
        match self {
            Patch::Keep => {}
            Patch::Clear => slot.clear(),
            Patch::Set(v) => *slot = v,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_states() {
        assert_eq!(Patch::Keep.optional(Some(1)), Some(1));
        assert_eq!(Patch::<i32>::Clear.optional(Some(1)), None);
        assert_eq!(Patch::Set(2).optional(Some(1)), Some(2));
        assert_eq!(
            Patch::<i32>::Clear.required("title", 1).unwrap_err().field,
            "title"
        );
        assert_eq!(Patch::Set(2).required("title", 1), Ok(2));
    }
}
