//! Model test: random sequences of writes, reads at old revisions,
//! compactions and reopens against the embedded store behave like a simple
//! `BTreeMap` model with a revision counter.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use kiln::storage::{EmbeddedOptions, EmbeddedStore, KeyValue, Storage, StorageError};
use proptest::prelude::*;

const KEYS: &[&str] = &["/a", "/a/x", "/a/y", "/ab", "/b", "/b/x", "/c"];
const PREFIXES: &[&str] = &["", "/a", "/a/", "/b/", "/z"];

#[derive(Clone, Debug)]
enum Cas {
    None,
    Right,
    Wrong,
}

#[derive(Clone, Debug)]
enum Op {
    Create(usize, u8),
    Update(usize, u8, Cas),
    Delete(usize, Cas),
    Range {
        prefix: usize,
        start: Option<usize>,
        limit: usize,
        back: i64,
    },
    Compact(i64),
    Reopen,
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let key = 0..KEYS.len();
    let cas = prop_oneof![Just(Cas::None), Just(Cas::Right), Just(Cas::Wrong)];
    prop_oneof![
        4 => (key.clone(), any::<u8>()).prop_map(|(k, v)| Op::Create(k, v)),
        4 => (key.clone(), any::<u8>(), cas.clone()).prop_map(|(k, v, c)| Op::Update(k, v, c)),
        2 => (key.clone(), cas).prop_map(|(k, c)| Op::Delete(k, c)),
        3 => (0..PREFIXES.len(), proptest::option::of(key), 0usize..4, 0i64..8)
            .prop_map(|(prefix, start, limit, back)| Op::Range { prefix, start, limit, back }),
        1 => (0i64..6).prop_map(Op::Compact),
        1 => Just(Op::Reopen),
    ]
}

type State = BTreeMap<String, KeyValue>;

/// The model: the state after every revision.
struct Model {
    states: Vec<State>,
    compacted: i64,
}

impl Model {
    fn current(&self) -> i64 {
        self.states.len() as i64 - 1
    }

    fn now(&self) -> &State {
        &self.states[self.states.len() - 1]
    }

    fn write(&mut self, f: impl FnOnce(&mut State, i64)) {
        let mut next = self.now().clone();
        f(&mut next, self.current() + 1);
        self.states.push(next);
    }
}

fn value(v: u8) -> Bytes {
    Bytes::from(vec![v; 1 + v as usize % 7])
}

fn expected_rev(model: &Model, key: &str, cas: &Cas) -> Option<i64> {
    match cas {
        Cas::None => None,
        Cas::Right => Some(model.now().get(key).map_or(1, |kv| kv.mod_revision)),
        Cas::Wrong => Some(model.now().get(key).map_or(1, |kv| kv.mod_revision) + 1000),
    }
}

async fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let open = || -> Arc<EmbeddedStore> {
        EmbeddedStore::open(
            dir.path(),
            EmbeddedOptions {
                retain_revisions: None,
                ..Default::default()
            },
        )
        .unwrap()
    };
    let mut store = open();
    let mut model = Model {
        states: vec![State::new()],
        compacted: 0,
    };
    for op in ops {
        match op {
            Op::Create(k, v) => {
                let key = KEYS[k];
                let res = store.create(key, value(v)).await;
                if model.now().contains_key(key) {
                    prop_assert!(
                        matches!(res, Err(StorageError::AlreadyExists { .. })),
                        "{res:?}"
                    );
                } else {
                    let kv = res.unwrap();
                    let rev = model.current() + 1;
                    prop_assert_eq!((kv.create_revision, kv.mod_revision), (rev, rev));
                    model.write(|s, rev| {
                        s.insert(
                            key.into(),
                            KeyValue {
                                key: key.into(),
                                value: value(v),
                                create_revision: rev,
                                mod_revision: rev,
                            },
                        );
                    });
                }
            }
            Op::Update(k, v, cas) => {
                let key = KEYS[k];
                let expected = expected_rev(&model, key, &cas);
                let res = store.update(key, value(v), expected).await;
                match model.now().get(key).cloned() {
                    None => {
                        prop_assert!(matches!(res, Err(StorageError::NotFound { .. })), "{res:?}")
                    }
                    Some(cur) if matches!(cas, Cas::Wrong) => match res {
                        Err(StorageError::Conflict { current, .. }) => {
                            prop_assert_eq!(current, Some(cur))
                        }
                        other => prop_assert!(false, "expected conflict: {other:?}"),
                    },
                    Some(cur) => {
                        let kv = res.unwrap();
                        prop_assert_eq!(kv.create_revision, cur.create_revision);
                        prop_assert_eq!(kv.mod_revision, model.current() + 1);
                        model.write(|s, rev| {
                            s.insert(
                                key.into(),
                                KeyValue {
                                    value: value(v),
                                    mod_revision: rev,
                                    ..cur
                                },
                            );
                        });
                    }
                }
            }
            Op::Delete(k, cas) => {
                let key = KEYS[k];
                let expected = expected_rev(&model, key, &cas);
                let res = store.delete(key, expected).await;
                match model.now().get(key).cloned() {
                    None => {
                        prop_assert!(matches!(res, Err(StorageError::NotFound { .. })), "{res:?}")
                    }
                    Some(cur) if matches!(cas, Cas::Wrong) => match res {
                        Err(StorageError::Conflict { current, .. }) => {
                            prop_assert_eq!(current, Some(cur))
                        }
                        other => prop_assert!(false, "expected conflict: {other:?}"),
                    },
                    Some(cur) => {
                        let kv = res.unwrap();
                        prop_assert_eq!(kv.value, cur.value);
                        prop_assert_eq!(kv.mod_revision, model.current() + 1);
                        model.write(|s, _| {
                            s.remove(key);
                        });
                    }
                }
            }
            Op::Range {
                prefix,
                start,
                limit,
                back,
            } => {
                let prefix = PREFIXES[prefix];
                let start = start.map(|i| KEYS[i]);
                let at = model.current() - back;
                let res = store.range(prefix, start, limit, Some(at)).await;
                if at <= 0 {
                    // 0 and below mean "current"
                    prop_assert_eq!(res.unwrap().revision, model.current());
                    continue;
                }
                if at < model.compacted {
                    prop_assert!(
                        matches!(res, Err(StorageError::Compacted { .. })),
                        "{res:?}"
                    );
                    continue;
                }
                let res = res.unwrap();
                let matching: Vec<KeyValue> = model.states[at as usize]
                    .values()
                    .filter(|kv| kv.key.starts_with(prefix))
                    .filter(|kv| start.is_none_or(|s| kv.key.as_str() >= s))
                    .cloned()
                    .collect();
                let n = if limit == 0 {
                    matching.len()
                } else {
                    limit.min(matching.len())
                };
                prop_assert_eq!(&res.kvs[..], &matching[..n]);
                prop_assert_eq!(res.remaining, (matching.len() - n) as i64);
                prop_assert_eq!(res.more, matching.len() > n);
                prop_assert_eq!(res.revision, at);
            }
            Op::Compact(back) => {
                let at = (model.current() - back).max(0);
                let res = store.compact(at).await;
                if at < model.compacted {
                    prop_assert!(
                        matches!(res, Err(StorageError::Compacted { .. })),
                        "{res:?}"
                    );
                } else {
                    res.unwrap();
                    model.compacted = at;
                }
            }
            Op::Reopen => {
                drop(store);
                store = open();
            }
        }
        prop_assert_eq!(store.current_revision().await.unwrap(), model.current());
        prop_assert_eq!(store.compacted_revision().await.unwrap(), model.compacted);
    }
    // the whole state, and the history that was not compacted, after a reopen
    drop(store);
    let store = open();
    for at in model.compacted.max(1)..=model.current() {
        let got = store.range("", None, 0, Some(at)).await.unwrap().kvs;
        let want: Vec<KeyValue> = model.states[at as usize].values().cloned().collect();
        prop_assert_eq!(got, want);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    #[test]
    fn store_matches_model(ops in proptest::collection::vec(op_strategy(), 1..60)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(run(ops))?;
    }
}
