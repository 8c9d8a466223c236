//! The provenance graph of media (the explorer's item page; the service's
//! `GET /v1/media/{commitment}/graph`, docs/service.md).
//!
//! Policy: **the graph says only what verified bundles say.** Nodes and edges
//! come from bundles alone — each bundle's whole embedded history (the original
//! attestation, then every edit step, oldest first) — so a front end builds a
//! graph only from bundles it has verified (the service: its catalog, where
//! nothing enters unverified). Nothing is inferred: an intermediate output is a
//! commitment and a header, because that is all a bundle knows of it; things a
//! bundle does not record (renditions, storage deals, on-chain records) are not
//! nodes here.

use mpegs_provenance::bundle::{Bundle, MediaRecord};
use serde::Serialize;

/// What a node is in the history.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A device-signed capture: where every history starts.
    Original,
    /// The output of an edit: a media item with its own bundle.
    Edit,
    /// The output of one step inside an edit: only its commitment is public,
    /// its pixels never leave the editor.
    Intermediate,
}

/// One media commitment in the history.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Node {
    pub commitment: String,
    pub role: Role,
    pub format: String,
    pub width: u32,
    pub height: u32,
    pub tile: u32,
    /// For an original: the device that signed it, its label and capture time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub captured_at: Option<u64>,
    /// Whether some bundle given reveals this media's seed, so anyone can check
    /// its pixels against the commitment.
    pub published: bool,
    /// Whether the front end holds this media item itself (the service: in its
    /// catalog, so its page, image and bundle can be fetched). Set by the
    /// caller with [`Graph::mark`]; `false` until then.
    pub available: bool,
}

/// One proven edit step: `from` → `to` by `filter`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Edge {
    pub from: String,
    pub to: String,
    /// The media item whose edit record holds this step.
    pub edit: String,
    /// 1-based position of the step in that edit's chain.
    pub step: usize,
    /// The filter in canonical form.
    pub filter: String,
    /// Output tiles of the step (from the output header).
    pub tiles: usize,
    /// Tile proofs the bundle carries for the step.
    pub proofs: usize,
    /// Circuits (verifying keys) the step pins.
    pub circuits: usize,
}

/// Nodes (oldest first) and edges of one or more histories.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

fn node(record: &MediaRecord, role: Role) -> Node {
    let h = record.header;
    Node {
        commitment: record.commitment.clone(),
        role,
        format: h.format.to_string(),
        width: h.width,
        height: h.height,
        tile: h.tile,
        device: None,
        device_id: None,
        captured_at: None,
        published: record.seed.is_some(),
        available: false,
    }
}

impl Graph {
    /// The history of one bundle: its original, every step of every edit, and
    /// the media it publishes.
    pub fn of_bundle(bundle: &Bundle) -> Self {
        let mut g = Self::default();
        g.add_bundle(bundle);
        g
    }

    /// Adds a bundle's history, merging nodes and edges already present (a
    /// commitment is one node; a step is one edge).
    pub fn add_bundle(&mut self, bundle: &Bundle) {
        // The chain, oldest first: the origin, then each edit on top of it.
        let mut chain = vec![bundle];
        let mut b = bundle;
        while let Some(edit) = &b.edit {
            b = &edit.parent;
            chain.push(b);
        }
        for (depth, b) in chain.iter().rev().enumerate() {
            let top = depth + 1 == chain.len();
            // Only the top bundle's media may carry its seed (docs/bundle.md §3).
            let media = if top {
                b.media.clone()
            } else {
                b.media.private()
            };
            if let Some(a) = &b.attestation {
                let mut n = node(&media, Role::Original);
                n.device = Some(a.device.to_ascii_lowercase());
                n.device_id = Some(a.device_id.clone());
                n.captured_at = Some(a.captured_at);
                self.add_node(n);
            }
            if let Some(edit) = &b.edit {
                let last = edit.steps.len();
                for (i, s) in edit.steps.iter().enumerate() {
                    if i == 0 {
                        self.add_node(node(&s.input, Role::Intermediate));
                    }
                    let out = if i + 1 == last {
                        node(&media, Role::Edit)
                    } else {
                        node(&s.output, Role::Intermediate)
                    };
                    self.add_node(out);
                    self.add_edge(Edge {
                        from: s.input.commitment.clone(),
                        to: s.output.commitment.clone(),
                        edit: b.media.commitment.clone(),
                        step: i + 1,
                        filter: s.filter.clone(),
                        tiles: s.output.header.tile_count(),
                        proofs: s.tiles.len(),
                        circuits: s.circuits.len(),
                    });
                }
            }
        }
    }

    fn add_node(&mut self, n: Node) {
        match self.nodes.iter_mut().find(|m| m.commitment == n.commitment) {
            Some(m) => {
                // What one bundle knows more about a node than another: it is
                // an item (not just an intermediate), who signed it, its seed.
                if n.role != Role::Intermediate {
                    m.role = n.role;
                }
                if n.device.is_some() {
                    m.device = n.device;
                    m.device_id = n.device_id;
                    m.captured_at = n.captured_at;
                }
                m.published |= n.published;
            }
            None => self.nodes.push(n),
        }
    }

    fn add_edge(&mut self, e: Edge) {
        let seen = self
            .edges
            .iter()
            .any(|f| f.from == e.from && f.to == e.to && f.filter == e.filter);
        if !seen {
            self.edges.push(e);
        }
    }

    /// Media items of the graph (originals and edit outputs), oldest first.
    pub fn items(&self) -> impl Iterator<Item = &str> {
        self.nodes
            .iter()
            .filter(|n| n.role != Role::Intermediate)
            .map(|n| n.commitment.as_str())
    }

    /// Sets `available` on every node for which `held` says so.
    pub fn mark(&mut self, held: impl Fn(&str) -> bool) {
        for n in &mut self.nodes {
            n.available = held(&n.commitment);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mpegs_media::{Frame, FrameInfo, PixelFormat, Seed};
    use mpegs_provenance::attest::DeviceKey;
    use mpegs_provenance::bundle::{EditRecord, Kind, StepRecord, TileProof};

    fn original() -> Bundle {
        let frame = Frame::new(
            FrameInfo::new(PixelFormat::Rgb24, 8, 8),
            (0..192).map(|i| i as u8).collect(),
        )
        .unwrap();
        mpegs_provenance::prove::attest(
            &frame,
            &DeviceKey::generate(),
            4,
            &Seed::random(),
            "cam",
            1_700_000_000,
        )
        .unwrap()
    }

    /// An edit record with made-up commitments and proofs: the graph reads
    /// structure only (callers give it verified bundles).
    fn edit_of(parent: &Bundle, filters: &[&str], salt: u8) -> Bundle {
        let mut input = parent.media.private();
        let mut steps = vec![];
        for (i, f) in filters.iter().enumerate() {
            let mut output = input.clone();
            output.commitment = format!("0x{:02x}{:062x}", salt, i + 1);
            steps.push(StepRecord {
                filter: f.to_string(),
                options: Default::default(),
                input: input.clone(),
                output: output.clone(),
                circuits: [("c".to_string(), "sha256:00".to_string())].into(),
                tiles: (0..4)
                    .map(|t| TileProof {
                        tile: [t % 2, t / 2],
                        circuit: "c".into(),
                        public_inputs: vec![],
                        proof: "0x".into(),
                    })
                    .collect(),
            });
            input = output;
        }
        Bundle {
            version: 2,
            kind: Kind::Edit,
            media: input.clone(),
            attestation: None,
            edit: Some(EditRecord {
                filtergraph: filters.join(","),
                steps,
                parent: Box::new(parent.clone()),
            }),
        }
    }

    #[test]
    fn a_history_is_original_steps_and_outputs_in_order() {
        let o = original();
        let e = edit_of(&o, &["hflip", "format=pix_fmts=gray"], 1);
        let g = Graph::of_bundle(&e);
        let roles: Vec<Role> = g.nodes.iter().map(|n| n.role).collect();
        assert_eq!(roles, [Role::Original, Role::Intermediate, Role::Edit]);
        assert_eq!(g.nodes[0].commitment, o.media.commitment);
        assert_eq!(
            g.nodes[0].device.as_deref(),
            Some(o.attestation.as_ref().unwrap().device.as_str())
        );
        assert_eq!(g.edges.len(), 2);
        assert_eq!(g.edges[0].from, o.media.commitment);
        assert_eq!(g.edges[1].to, e.media.commitment);
        assert_eq!((g.edges[1].step, g.edges[1].proofs), (2, 4));
        // 8×8 with 4-pixel tiles: 4 output tiles.
        assert_eq!(g.edges[0].tiles, 4);
        assert!(g.edges.iter().all(|x| x.edit == e.media.commitment));
        assert_eq!(g.items().count(), 2);
    }

    #[test]
    fn histories_merge_into_one_tree() {
        let o = original();
        let a = edit_of(&o, &["hflip"], 1);
        let b = edit_of(&o, &["vflip"], 2);
        let aa = edit_of(&a, &["negate"], 3);
        let mut g = Graph::of_bundle(&aa);
        g.add_bundle(&b);
        g.add_bundle(&a);
        assert_eq!(g.nodes.len(), 4, "{:?}", g.nodes);
        assert_eq!(g.edges.len(), 3);
        // `a` appears inside `aa`'s history first (as a parent item) and keeps its role.
        let a_node = g
            .nodes
            .iter()
            .find(|n| n.commitment == a.media.commitment)
            .unwrap();
        assert_eq!(a_node.role, Role::Edit);
        g.mark(|c| c == o.media.commitment);
        assert_eq!(g.nodes.iter().filter(|n| n.available).count(), 1);
    }

    #[test]
    fn only_the_top_media_counts_as_published() {
        let o = original();
        let seed = Seed::random();
        let e = edit_of(&o, &["hflip"], 1).reveal(seed);
        let g = Graph::of_bundle(&e);
        let published: Vec<bool> = g.nodes.iter().map(|n| n.published).collect();
        assert_eq!(published, [false, true]);
    }
}
