//! Undo for brush strokes: before a stroke touches a side, that side's whole state (a
//! checkpoint: fields, clock, step plan) is kept, with how long its event log and metric
//! history were. Undo puts the state back and forgets what came after, so the log stays
//! a faithful replay of what is on screen. Kept in CPU memory, bounded in bytes.

use super::live::Live;
use crate::engine::Checkpoint;
use crate::error::Result;

/// Memory the undo states may take (oldest strokes are forgotten first).
const MAX_BYTES: usize = 256 << 20;
/// Strokes remembered.
const MAX_STROKES: usize = 32;

/// One side's state just before a stroke.
struct Before {
    side: usize,
    state: Checkpoint,
    log_len: usize,
    history_len: usize,
}

impl Before {
    fn bytes(&self) -> usize {
        self.state.planes.iter().map(Vec::len).sum()
    }
}

/// Strokes, oldest first; each holds the sides it painted.
#[derive(Default)]
pub struct Undo {
    strokes: Vec<Vec<Before>>,
    /// A stroke in progress (the button is down): its sides are already saved.
    open: bool,
}

impl Undo {
    /// Called before painting `live` (side `side`): saves it on the first dab of a stroke.
    pub fn before_paint(&mut self, side: usize, live: &Live) -> Result<()> {
        if !self.open {
            self.open = true;
            self.strokes.push(vec![]);
        }
        let stroke = self.strokes.last_mut().expect("a stroke is open");
        if stroke.iter().any(|b| b.side == side) {
            return Ok(());
        }
        stroke.push(Before {
            side,
            state: live.sim.checkpoint(0)?,
            log_len: live.log.len(),
            history_len: live.history.times.len(),
        });
        self.trim();
        Ok(())
    }

    /// The pointer was released: the next dab starts a new stroke.
    pub fn end_stroke(&mut self) {
        self.open = false;
        self.strokes.retain(|s| !s.is_empty());
    }

    pub fn can_undo(&self) -> bool {
        !self.strokes.is_empty()
    }

    /// Puts the sides of the last stroke back as they were before it.
    pub fn undo(&mut self, mut lives: [Option<&mut Live>; 2]) -> Result<()> {
        self.open = false;
        let Some(stroke) = self.strokes.pop() else {
            return Ok(());
        };
        for b in stroke {
            if let Some(l) = lives.get_mut(b.side).and_then(|l| l.as_deref_mut()) {
                l.sim.restore(&b.state)?;
                l.log.truncate(b.log_len);
                l.history.times.truncate(b.history_len);
                l.history.rows.truncate(b.history_len);
                l.stopped = None;
            }
        }
        Ok(())
    }

    pub fn clear(&mut self) {
        self.strokes.clear();
        self.open = false;
    }

    fn trim(&mut self) {
        let total = |s: &[Vec<Before>]| s.iter().flatten().map(Before::bytes).sum::<usize>();
        while self.strokes.len() > 1
            && (self.strokes.len() > MAX_STROKES || total(&self.strokes) > MAX_BYTES)
        {
            self.strokes.remove(0);
        }
    }
}
