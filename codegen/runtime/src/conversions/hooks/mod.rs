//! The hand-written conversion hooks: every field that does not correspond between a
//! version and its hub is handled here, by a named hook with its own tests. Regen reads
//! [`ALL`] to check that each non-corresponding field has a hook (and each hook a field),
//! and generated tables refer to the hooks by path.

use super::Hook;

pub mod autoscaling;
pub mod events;
pub mod resource;

/// Every hook, for the generator's coverage check.
pub static ALL: &[&Hook] = &[
    &autoscaling::HPA_V1_TO_V2,
    &autoscaling::HPA_V2_TO_V1,
    &events::EVENT_V1_TO_CORE,
    &events::EVENT_CORE_TO_V1,
    &resource::REQUEST_V1_TO_V1BETA1,
    &resource::REQUEST_V1BETA1_TO_V1,
    &resource::REQUEST_V1BETA2_TO_V1BETA1,
    &resource::REQUEST_V1BETA1_TO_V1BETA2,
    &resource::DEVICE_V1_TO_V1BETA1,
    &resource::DEVICE_V1BETA1_TO_V1,
    &resource::DEVICE_V1BETA2_TO_V1BETA1,
    &resource::DEVICE_V1BETA1_TO_V1BETA2,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_match_paths() {
        let mut names: Vec<&str> = ALL.iter().map(|h| h.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
        for h in ALL {
            let (module, ident) = h.name.split_once("::").unwrap();
            assert!(
                ["autoscaling", "events", "resource"].contains(&module),
                "{}",
                h.name
            );
            assert!(
                ident
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            );
            assert!(!h.fields.is_empty());
        }
    }
}
