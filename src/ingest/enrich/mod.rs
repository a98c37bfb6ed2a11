//! Enrichment: what footfall derives from a request besides the payload — device from the user
//! agent, source from the referrer, place from the IP. Each piece is a pure lookup.

pub mod geoip;
pub mod referrer;
pub mod useragent;

use std::cell::RefCell;
use std::collections::HashMap;
use useragent::Classified;

/// Distinct user agents remembered per worker thread. Real traffic repeats a few hundred UAs, so
/// a small map catches nearly all of it; when full it is simply cleared (no LRU bookkeeping on
/// the hot path).
const UA_CACHE_ENTRIES: usize = 4096;
/// Longer user agents are not cached (they are rare and would let one client grow the cache).
const UA_CACHE_MAX_LEN: usize = 512;

thread_local! {
    static UA_CACHE: RefCell<HashMap<Box<str>, Classified>> = RefCell::new(HashMap::new());
}

/// `useragent::classify`, remembered per thread.
pub fn classify_user_agent(ua: &str) -> Classified {
    if ua.len() > UA_CACHE_MAX_LEN {
        return useragent::classify(ua);
    }
    UA_CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(hit) = cache.get(ua) {
            return hit.clone();
        }
        let classified = useragent::classify(ua);
        if cache.len() >= UA_CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert(ua.into(), classified.clone());
        classified
    })
}
