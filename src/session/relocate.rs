//! Moving a session actor to the HTTP worker its requests arrive on.
//!
//! A session actor lives on the HTTP worker thread whose request started it
//! ([`crate::session::home`]). When the session's later requests arrive on another worker —
//! the client's next connection landed elsewhere, or a load balancer's pooled connection
//! carries them — each one crosses to the actor's thread and back: two cross-thread wake-ups
//! per call, which cost Redis-backed calls 10–25 % of their throughput (BENCHMARKS.md, "Where
//! the calls land").
//!
//! So the registry counts, per live actor, the requests that arrive in a row on one other
//! worker ([`Crossings`]). After `session.relocate_after` of them it asks the actor to move
//! (`Relocate`): an actor with nothing running on it (no request, no attached connection, no
//! server-to-client request awaiting its answer, no notification still being stored, no
//! signal to other replicas still being published) leaves
//! the live table and stops, and the request that asked, finding it gone, rehydrates the
//! session on its own worker, as after hibernation. A busy actor stays where it is and the
//! count starts again. Requests spread over workers at random (round-robin pooling) almost
//! never make a run of that length, so they do not make actors move back and forth; a client
//! that keeps to one connection moves its session's actor at most once.

/// Requests in a row that arrived on one worker other than the actor's.
#[derive(Debug, Clone, Default)]
pub(crate) struct Crossings {
    /// The worker the actor lives on (`None`: a dedicated arbiter).
    home: Option<u32>,
    /// The worker of the current run.
    from: u32,
    /// Length of the current run.
    run: u32,
}

impl Crossings {
    /// No run yet, for an actor living on worker `home` (`None`: a dedicated arbiter).
    pub(crate) fn new(home: Option<u32>) -> Self {
        Self {
            home,
            ..Self::default()
        }
    }

    /// Records a request arriving on worker `caller` (`None`: not an HTTP worker, such as
    /// stdio or a background task); `true` when this request makes a run of `after`
    /// requests from one other worker, and the actor should move there (`after == 0`: never).
    pub(crate) fn arrive(&mut self, caller: Option<u32>, after: u32) -> bool {
        let Some(caller) = caller.filter(|&c| after > 0 && self.home != Some(c)) else {
            self.run = 0;
            return false;
        };
        if self.from == caller {
            self.run = self.run.saturating_add(1);
        } else {
            (self.from, self.run) = (caller, 1);
        }
        if self.run >= after {
            self.run = 0;
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arrivals(c: &mut Crossings, callers: &[u32], after: u32) -> Vec<bool> {
        callers.iter().map(|&w| c.arrive(Some(w), after)).collect()
    }

    #[test]
    fn a_run_from_one_other_worker_moves_the_actor() {
        let mut c = Crossings::new(Some(1));
        assert_eq!(
            arrivals(&mut c, &[2, 2, 2], 3),
            [false, false, true],
            "the third in a row from worker 2"
        );
        // The count starts again (the actor may have been busy and stayed).
        assert_eq!(arrivals(&mut c, &[2, 2, 2], 3), [false, false, true]);
    }

    #[test]
    fn runs_are_broken_by_the_home_worker_and_by_a_third_one() {
        let mut c = Crossings::new(Some(1));
        assert_eq!(arrivals(&mut c, &[2, 2, 1, 2, 2], 3), [false; 5]);
        assert_eq!(arrivals(&mut c, &[3, 2, 3, 2], 3), [false; 4]);
        assert!(!c.arrive(None, 3), "not a worker: no move");
        assert_eq!(arrivals(&mut c, &[2, 2, 2], 3), [false, false, true]);
    }

    #[test]
    fn requests_on_the_home_worker_or_with_moves_off_never_move_it() {
        let mut c = Crossings::new(Some(1));
        assert!(arrivals(&mut c, &[1; 50], 3).iter().all(|m| !m));
        assert!(arrivals(&mut c, &[2; 50], 0).iter().all(|m| !m), "0 = off");
        // An actor on a dedicated arbiter moves to the worker its requests come from.
        let mut c = Crossings::new(None);
        assert_eq!(arrivals(&mut c, &[4, 4], 2), [false, true]);
    }
}
