//! The built-in rule bot: a tree of dialog nodes. Each node may say
//! something, offer quick options, run a business action (an HTTP lookup the
//! adapter performs), hand over or mark the conversation resolved; its routes
//! take the visitor's next words to another node. Patterns are regular
//! expressions whose named groups collect fields (`(?P<order_no>\d{6,})`).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::limits::{check_text, NAME_MAX, TEXT_MAX};
use crate::CoreError;

/// A dialog tree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dialog {
    /// The node the conversation starts at.
    pub start: String,
    /// Nodes by name.
    pub nodes: BTreeMap<String, Node>,
    /// Routes tried from every node after its own.
    #[serde(default)]
    pub global: Vec<Route>,
    /// Said when no route matches.
    #[serde(default = "Dialog::default_unmatched")]
    pub unmatched: String,
    /// Business actions by name: what the adapter calls.
    #[serde(default)]
    pub actions: BTreeMap<String, Action>,
}

/// One step of the dialog.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Node {
    /// Said on entering; `{field}` is replaced by a collected field.
    pub reply: Option<String>,
    /// Quick options shown as buttons; choosing one sends its text.
    pub options: Vec<String>,
    /// Where the visitor's next words lead, tried in order.
    pub routes: Vec<Route>,
    /// Recorded as a detected intent on entering.
    pub intent: Option<String>,
    /// A business action run on entering.
    pub action: Option<String>,
    /// Where to go when the action succeeds.
    pub on_success: Option<String>,
    /// Where to go when it fails (else the node stays).
    pub on_failure: Option<String>,
    /// Entering hands over to a human at once (an escalate intent).
    pub handoff: bool,
    /// Entering marks the visitor's question answered by the bot.
    pub resolve: bool,
}

/// A way out of a node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// Any of these words (case-insensitive) matches.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Or this regular expression; its named groups become fields.
    #[serde(default)]
    pub pattern: Option<String>,
    /// The node it leads to.
    pub next: String,
    /// `pattern`, compiled on first use (a Unicode `\d` costs far more to
    /// compile than to match).
    #[serde(skip)]
    compiled: Compiled,
}

/// A compiled pattern, kept beside its source; derived, so it takes no
/// part in comparisons.
#[derive(Clone, Debug, Default)]
struct Compiled(OnceLock<Option<Regex>>);

impl PartialEq for Compiled {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Compiled {}

impl Route {
    /// The compiled pattern, if the route has a valid one.
    fn regex(&self) -> Option<&Regex> {
        let source = self.pattern.as_deref()?;
        self.compiled
            .0
            .get_or_init(|| Regex::new(source).ok())
            .as_ref()
    }
}

/// A business action: an HTTP request with collected fields in its URL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Action {
    /// `{field}` is replaced by the collected field, URL-encoded.
    pub url: String,
    /// `GET` (default) or `POST` (the fields as a JSON body).
    #[serde(default = "Action::default_method")]
    pub method: String,
}

impl Action {
    fn default_method() -> String {
        "GET".into()
    }
}

/// Where the visitor's words led.
pub(crate) struct Matched {
    pub(crate) next: String,
    pub(crate) fields: Vec<(String, String)>,
}

const NODES_MAX: usize = 512;

impl Dialog {
    fn default_unmatched() -> String {
        "Sorry, I did not understand that.".into()
    }

    /// The node named `name`.
    pub(crate) fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.get(name)
    }

    /// The first route of `node`, then of the global routes, that `text`
    /// matches, with the fields its pattern collected.
    pub(crate) fn route(&self, node: &str, text: &str) -> Option<Matched> {
        let lower = text.to_lowercase();
        let own = self.node(node).map(|n| n.routes.as_slice()).unwrap_or(&[]);
        own.iter().chain(&self.global).find_map(|r| {
            if r.keywords.iter().any(|k| lower.contains(&k.to_lowercase())) {
                return Some(Matched {
                    next: r.next.clone(),
                    fields: Vec::new(),
                });
            }
            // Validated when the settings were accepted.
            let re = r.regex()?;
            let caps = re.captures(text)?;
            let fields = re
                .capture_names()
                .flatten()
                .filter_map(|n| Some((n.to_owned(), caps.name(n)?.as_str().to_owned())))
                .collect();
            Some(Matched {
                next: r.next.clone(),
                fields,
            })
        })
    }

    /// Checks that every node a route or action leads to exists, and that
    /// every pattern compiles.
    pub(crate) fn validate(&self) -> Result<(), CoreError> {
        let invalid = |field, reason| Err(CoreError::InvalidInput { field, reason });
        if self.nodes.is_empty() || self.nodes.len() > NODES_MAX {
            return invalid("dialog.nodes", "must hold 1 to 512 nodes");
        }
        check_text("dialog.unmatched", Some(&self.unmatched), true, TEXT_MAX)?;
        let known = |n: &String| self.nodes.contains_key(n);
        if !known(&self.start) {
            return invalid("dialog.start", "names no node");
        }
        let routes = self
            .nodes
            .values()
            .flat_map(|n| &n.routes)
            .chain(&self.global);
        for r in routes {
            if !known(&r.next) {
                return invalid("dialog.routes.next", "names no node");
            }
            if r.keywords.is_empty() && r.pattern.is_none() {
                return invalid("dialog.routes", "need keywords or a pattern");
            }
            if r.keywords
                .iter()
                .any(|k| k.trim().is_empty() || k.len() > NAME_MAX)
            {
                return invalid("dialog.routes.keywords", "holds an empty or too long word");
            }
            if let Some(p) = &r.pattern {
                check_text("dialog.routes.pattern", Some(p), true, NAME_MAX)?;
                if Regex::new(p).is_err() {
                    return invalid("dialog.routes.pattern", "is not a valid regular expression");
                }
            }
        }
        for (name, n) in &self.nodes {
            check_text("dialog.nodes", Some(name), true, NAME_MAX)?;
            check_text("dialog.reply", n.reply.as_deref(), false, TEXT_MAX)?;
            check_text("dialog.intent", n.intent.as_deref(), false, NAME_MAX)?;
            if n.options.len() > 16
                || n.options
                    .iter()
                    .any(|o| o.trim().is_empty() || o.len() > NAME_MAX)
            {
                return invalid("dialog.options", "are 0 to 16 non-empty labels");
            }
            for next in [&n.on_success, &n.on_failure].into_iter().flatten() {
                if !known(next) {
                    return invalid("dialog.on_success", "names no node");
                }
            }
            if n.action
                .as_ref()
                .is_some_and(|a| !self.actions.contains_key(a))
            {
                return invalid("dialog.action", "names no action");
            }
        }
        for a in self.actions.values() {
            check_text("dialog.actions.url", Some(&a.url), true, 2048)?;
            if !(a.url.starts_with("http://") || a.url.starts_with("https://")) {
                return invalid("dialog.actions.url", "must be an http or https URL");
            }
            if a.method != "GET" && a.method != "POST" {
                return invalid("dialog.actions.method", "must be GET or POST");
            }
        }
        Ok(())
    }
}

/// `template` with each `{field}` replaced by its value (unknown ones stay).
pub(crate) fn fill(template: &str, fields: &BTreeMap<String, String>) -> String {
    let mut out = template.to_owned();
    for (k, v) in fields {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}
