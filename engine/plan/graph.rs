//! graph: the dependency DAG of a plan's steps (main graph and `finally` graph separately).
//! Owns cycle detection (every edge of a cycle labelled), topological order, stages
//! (topological levels), the critical path and ancestor queries. It works on step indices
//! and `needs` lists only; it knows nothing of actions.

use petgraph::graph::{DiGraph, NodeIndex};

use crate::plan::Step;
use crate::plan::diagnostic::Diagnostic;
use crate::plan::reads::PlanReads;
use crate::plan::source::Span;

/// A DAG over one list of steps: an edge `a -> b` means `b` needs `a`.
#[derive(Clone, Debug)]
pub struct StepGraph {
    graph: DiGraph<usize, ()>,
    /// Step indices in a topological order.
    pub order: Vec<usize>,
    /// Position of each step in `order`.
    position: Vec<usize>,
    /// Stage (longest distance from a root) of each step.
    pub stage: Vec<usize>,
    /// Each step's resolved `needs` (index and span of each entry): the graph's edges, kept
    /// so the run side and the views never resolve names again.
    pub needs: Edges,
}

/// The two graphs of a validated plan: `steps` and `finally` (whose `needs` name only other
/// finally steps), with what each step reads; built once by validation and handed to the run
/// side as they are.
#[derive(Clone, Debug)]
pub struct PlanGraphs {
    pub main: StepGraph,
    pub finally: StepGraph,
    /// Each step's reads (main and finally), by step id.
    pub reads: PlanReads,
}

/// `needs` entries of one step, resolved to indices, with the span of each entry.
pub type Edges = Vec<Vec<(usize, Span)>>;

impl StepGraph {
    /// Builds the graph; a cycle gives one diagnostic per cycle with every edge labelled.
    pub fn build(ids: &[&str], needs: Edges) -> Result<Self, Vec<Diagnostic>> {
        let mut graph = DiGraph::with_capacity(ids.len(), needs.iter().map(Vec::len).sum());
        let nodes: Vec<NodeIndex> = (0..ids.len()).map(|i| graph.add_node(i)).collect();
        for (to, deps) in needs.iter().enumerate() {
            for &(from, _) in deps {
                graph.add_edge(nodes[from], nodes[to], ());
            }
        }
        let order = match petgraph::algo::toposort(&graph, None) {
            Ok(order) => order.into_iter().map(|n| graph[n]).collect::<Vec<_>>(),
            Err(_) => return Err(cycle_diagnostics(&graph, ids, &needs)),
        };
        let mut stage = vec![0; ids.len()];
        for &i in &order {
            stage[i] = needs[i]
                .iter()
                .map(|&(d, _)| stage[d] + 1)
                .max()
                .unwrap_or(0);
        }
        // Stage by stage, file order inside a stage: still topological, and reads naturally.
        let mut order = order;
        order.sort_by_key(|&i| (stage[i], i));
        let mut position = vec![0; ids.len()];
        for (pos, &i) in order.iter().enumerate() {
            position[i] = pos;
        }
        Ok(Self {
            graph,
            order,
            position,
            stage,
            needs,
        })
    }

    /// Whether `ancestor` must finish before `step` starts (directly or transitively).
    ///
    /// A search up from `step`, pruned at `ancestor`'s place in topological order; the
    /// visited set holds only what the search reaches (a vector sized by the whole plan,
    /// per query, made validation quadratic on plans of 10k+ steps).
    pub fn is_ancestor(&self, ancestor: usize, step: usize) -> bool {
        let needs = &self.needs;
        if ancestor == step || self.position[ancestor] >= self.position[step] {
            return false;
        }
        // Most references read a direct need: answer those without a search.
        if needs[step].iter().any(|&(d, _)| d == ancestor) {
            return true;
        }
        let floor = self.position[ancestor];
        let mut seen = foldhash::HashSet::default();
        let mut stack = vec![step];
        while let Some(s) = stack.pop() {
            for &(d, _) in &needs[s] {
                if d == ancestor {
                    return true;
                }
                // Nothing placed before `ancestor` in topological order can reach it.
                if self.position[d] > floor && seen.insert(d) {
                    stack.push(d);
                }
            }
        }
        false
    }

    /// Steps grouped by stage, in file order inside a stage.
    pub fn stages(&self) -> Vec<Vec<usize>> {
        let count = self.stage.iter().max().map_or(0, |m| m + 1);
        let mut stages = vec![Vec::new(); count];
        for (i, &s) in self.stage.iter().enumerate() {
            stages[s].push(i);
        }
        stages
    }

    /// The longest chain of steps (by count), root first.
    pub fn critical_path(&self) -> Vec<usize> {
        let Some(mut at) =
            (0..self.stage.len()).max_by_key(|&i| (self.stage[i], std::cmp::Reverse(i)))
        else {
            return Vec::new();
        };
        let mut path = vec![at];
        while let Some(&(prev, _)) = self.needs[at]
            .iter()
            .find(|&&(d, _)| self.stage[d] + 1 == self.stage[at])
        {
            path.push(prev);
            at = prev;
        }
        path.reverse();
        path
    }

    /// Steps that need `step` directly.
    pub fn dependents(&self, step: usize) -> impl Iterator<Item = usize> + '_ {
        self.graph
            .neighbors_directed(NodeIndex::new(step), petgraph::Direction::Outgoing)
            .map(|n| self.graph[n])
    }

    pub fn len(&self) -> usize {
        self.stage.len()
    }

    pub fn is_empty(&self) -> bool {
        self.stage.is_empty()
    }
}

fn cycle_diagnostics(graph: &DiGraph<usize, ()>, ids: &[&str], needs: &Edges) -> Vec<Diagnostic> {
    petgraph::algo::tarjan_scc(graph)
        .into_iter()
        .filter(|scc| scc.len() > 1 || graph.contains_edge(scc[0], scc[0]))
        .map(|scc| {
            let mut members: Vec<usize> = scc.iter().map(|&n| graph[n]).collect();
            members.sort_unstable();
            cycle_diagnostic(&members, ids, needs)
        })
        .collect()
}

fn cycle_diagnostic(members: &[usize], ids: &[&str], needs: &Edges) -> Diagnostic {
    let path = cycle_path(members, needs);
    let names: Vec<&str> = path.iter().map(|&i| ids[i]).collect();
    let mut edges = Vec::new();
    for w in path.windows(2) {
        // path[k] needs path[k+1]
        if let Some(&(_, span)) = needs[w[0]].iter().find(|&&(d, _)| d == w[1]) {
            edges.push((span, format!("`{}` needs `{}`", ids[w[0]], ids[w[1]])));
        }
    }
    let (first_span, first_text) = edges.first().cloned().unwrap_or_default();
    let mut d = Diagnostic::error(
        "runbook::graph::cycle",
        format!(
            "steps depend on each other in a cycle: {}",
            names.join(" -> ")
        ),
        first_span,
        first_text,
    )
    .with_help("remove one of these `needs` entries to break the cycle");
    for (span, text) in edges.into_iter().skip(1) {
        d = d.with_label(span, text);
    }
    d
}

/// One concrete cycle through the strongly connected `members`, closed (first == last).
fn cycle_path(members: &[usize], needs: &Edges) -> Vec<usize> {
    let start = members[0];
    let mut path = vec![start];
    let mut seen = vec![start];
    let mut at = start;
    loop {
        let Some(&(next, _)) = needs[at].iter().find(|&&(d, _)| {
            members.binary_search(&d).is_ok() && (d == start || !seen.contains(&d))
        }) else {
            // Dead end inside the component: fall back to closing the loop where we are.
            path.push(start);
            return path;
        };
        path.push(next);
        if next == start {
            return path;
        }
        seen.push(next);
        at = next;
    }
}

/// Resolves `needs` of `steps` to indices; unknown names are left to the caller.
pub fn resolve_needs(steps: &[Step]) -> Edges {
    let index: foldhash::HashMap<&str, usize> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), i))
        .collect();
    steps
        .iter()
        .map(|s| {
            s.needs
                .iter()
                .filter_map(|(n, span)| index.get(n.as_str()).map(|&i| (i, *span)))
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edges(list: &[&[usize]]) -> Edges {
        list.iter()
            .map(|d| d.iter().map(|&i| (i, Span::point(i))).collect())
            .collect()
    }

    #[test]
    fn orders_stages_and_critical_path() {
        let needs = edges(&[&[], &[0], &[0], &[1, 2], &[]]);
        let g = StepGraph::build(&["a", "b", "c", "d", "e"], needs).unwrap();
        assert_eq!(g.stages(), vec![vec![0, 4], vec![1, 2], vec![3]]);
        assert_eq!(g.critical_path(), vec![0, 1, 3]);
        assert!(g.is_ancestor(0, 3));
        assert!(!g.is_ancestor(4, 3));
        assert!(!g.is_ancestor(3, 0));
    }

    #[test]
    fn cycles_label_every_edge() {
        let needs = edges(&[&[2], &[0], &[1], &[]]);
        let err = StepGraph::build(&["a", "b", "c", "d"], needs).unwrap_err();
        assert_eq!(err.len(), 1);
        assert_eq!(err[0].labels.len(), 3);
        assert!(
            err[0].message.contains("a -> c -> b -> a"),
            "{}",
            err[0].message
        );
    }
}
