//! Processing pipelines as data: pySigma's YAML processing-pipeline format.
//!
//! A pipeline is `name`, `priority`, optional `vars` (placeholder values) and `transformations`,
//! each a processing item: `id`, `type` and the type's own keys, guarded by `rule_conditions`,
//! `detection_item_conditions` and `field_name_conditions` (each linked by `*_cond_op: and|or`
//! and negated by `*_cond_not: true`). A pipeline written for pySigma loads unchanged as long as
//! it uses the types listed in [`Transformation`] and the conditions below; anything else is an
//! error naming the file, line and column.

use std::fmt;

use yaml::{Node, Value as Y};

/// A loaded processing pipeline.
#[derive(Debug, Clone)]
pub struct Pipeline {
    pub name: String,
    /// Pipelines run in ascending priority (stable for equal priorities).
    pub priority: i64,
    /// Values of `%name%` placeholders for `value_placeholders`.
    pub vars: Vec<(String, Vec<String>)>,
    pub items: Vec<ProcessingItem>,
}

/// One transformation with the conditions under which it applies.
#[derive(Debug, Clone)]
pub struct ProcessingItem {
    pub id: Option<String>,
    pub transformation: Transformation,
    pub rule_conditions: Conditions<RuleCondition>,
    pub detection_item_conditions: Conditions<ItemCondition>,
    pub field_name_conditions: Conditions<FieldCondition>,
}

/// A list of conditions, linked by `and` (all) or `or` (any), optionally negated.
#[derive(Debug, Clone)]
pub struct Conditions<C> {
    pub list: Vec<C>,
    pub all: bool,
    pub negated: bool,
}

impl<C> Conditions<C> {
    /// True when the conditions hold (an empty list always holds).
    pub fn hold(&self, mut test: impl FnMut(&C) -> bool) -> bool {
        if self.list.is_empty() {
            return true;
        }
        let r = if self.all {
            self.list.iter().all(&mut test)
        } else {
            self.list.iter().any(&mut test)
        };
        r != self.negated
    }
}

/// A scalar of the pipeline state (`set_state`, `processing_state`); `None` is YAML null.
pub type StateValue = Option<String>;

#[derive(Debug, Clone)]
pub enum RuleCondition {
    /// `logsource`: every given attribute equals the rule's.
    Logsource {
        category: Option<String>,
        product: Option<String>,
        service: Option<String>,
    },
    /// `contains_detection_item`: some detection item has this field and this plain value.
    ContainsDetectionItem {
        field: Option<String>,
        value: String,
    },
    /// `contains_field`: some detection item has this field.
    ContainsField(Option<String>),
    /// `processing_item_applied`: the item with this id changed the rule.
    ProcessingItemApplied(String),
    /// `processing_state`: the state key compares with the value.
    ProcessingState(StateTest),
    /// `tag`: the rule has this tag.
    Tag(String),
    /// `is_sigma_rule` (always true here) / `is_sigma_correlation_rule` (always false).
    IsSigmaRule(bool),
}

#[derive(Debug, Clone)]
pub struct StateTest {
    pub key: String,
    pub val: StateValue,
    /// `eq`, `ne`, `gt`, `gte`, `lt`, `lte`.
    pub op: String,
}

#[derive(Debug, Clone)]
pub enum ItemCondition {
    /// `match_string`: string values match the regular expression; `cond: any|all`.
    MatchString {
        regex: regex::Regex,
        negate: bool,
        all: bool,
    },
    /// `is_null`: values are null; `cond: any|all`.
    IsNull {
        all: bool,
    },
    /// `contains_wildcard`: string values have a wildcard; `cond: any|all`.
    ContainsWildcard {
        all: bool,
    },
    /// `match_value`: values equal `value` (a string, number or boolean, of the same type);
    /// `cond: any|all`.
    MatchValue {
        value: sigma::value::Value,
        all: bool,
    },
    ProcessingItemApplied(String),
    ProcessingState(StateTest),
}

#[derive(Debug, Clone)]
pub enum FieldCondition {
    /// `include_fields` (`exclude: false`) / `exclude_fields` (`exclude: true`); `mode: plain|re`.
    Fields {
        fields: Vec<String>,
        regexes: Vec<regex::Regex>,
        exclude: bool,
    },
    ProcessingItemApplied(String),
    ProcessingState(StateTest),
}

/// The transformation types, by their pySigma `type` name.
#[derive(Debug, Clone)]
pub enum Transformation {
    /// `field_name_mapping`: `mapping: {Sigma field: column | [columns]}` (several columns: any).
    FieldNameMapping(Vec<(String, Vec<String>)>),
    /// `field_name_prefix_mapping`: `mapping: {prefix: new prefix}`.
    FieldNamePrefixMapping(Vec<(String, String)>),
    /// `field_name_prefix`: `prefix`.
    FieldNamePrefix(String),
    /// `field_name_suffix`: `suffix`.
    FieldNameSuffix(String),
    /// `add_condition`: `conditions` (a detection), `negated`, `template` (`$category`,
    /// `$product`, `$service` in values).
    AddCondition {
        conditions: Node,
        negated: bool,
        template: bool,
    },
    /// `change_logsource`: `category`, `product`, `service`.
    ChangeLogsource {
        category: Option<String>,
        product: Option<String>,
        service: Option<String>,
    },
    /// `replace_string`: `regex`, `replacement` (`\1` or `\g<1>` for groups), `skip_special`.
    ReplaceString {
        regex: regex::Regex,
        replacement: String,
        skip_special: bool,
    },
    /// `drop_detection_item`.
    DropDetectionItem,
    /// `set_state`: `key`, `val`.
    SetState { key: String, val: StateValue },
    /// `rule_failure`: `message`.
    RuleFailure(String),
    /// `detection_item_failure`: `message` (`{field}` is replaced by the item's field).
    DetectionItemFailure(String),
    /// `value_placeholders`: placeholders replaced by the pipeline's `vars`; `include`/`exclude`.
    ValuePlaceholders(PlaceholderFilter),
    /// `wildcard_placeholders`: placeholders replaced by `*`; `include`/`exclude`.
    WildcardPlaceholders(PlaceholderFilter),
    /// `map_string`: `mapping: {value: value | [values]}` (several: any of them). Unlike pySigma,
    /// booleans are mapped too, by their text (`true`, `false`).
    MapString(Vec<(String, Vec<String>)>),
    /// `hashes_fields`: `valid_hash_algos`, `field_prefix`, `drop_algo_prefix`,
    /// `field_to_parse` (default `[Hashes, Hash]`). Each `ALGO=value` (or `ALGO|value`) of the
    /// item becomes `<prefix><ALGO>: value`, one item per column, any of them; a value with no
    /// algorithm gets it from its length (32 MD5, 40 SHA1, 64 SHA256, 128 SHA512). Values of
    /// algorithms not listed are left out; none left is an error. Unlike pySigma, which strips
    /// them, the wildcards the value had after the algorithm stay (`Hashes|contains:
    /// 'MD5=AB'` is a value starting with `AB`).
    /// `split_domain_user` (a detdex type, after pySigma-backend-kusto's
    /// `SplitDomainUserTransformation`): `mapping: {name column: domain column}`. A `DOMAIN\name`
    /// value of an item on a name column becomes the domain column compared with `DOMAIN` and
    /// the name column with `name` (a part that is only `*` is left out); a value without a
    /// backslash compares the part it can match: `*x*` the domain or the name, `x*` the domain,
    /// `*x` and `x` the name.
    SplitDomainUser(Vec<(String, String)>),
    /// `set_value`: every value becomes `value` (a string, number or boolean; `force_type:
    /// str|num` makes it a string or a number).
    SetValue(sigma::value::Value),
    /// `convert_type`: `target_type: str` writes numbers as strings, `num` strings holding a
    /// number as numbers.
    ConvertType { to_str: bool },
    HashesFields {
        valid_hash_algos: Vec<String>,
        field_prefix: String,
        drop_algo_prefix: bool,
        field_to_parse: Vec<String>,
    },
}

#[derive(Debug, Clone, Default)]
pub struct PlaceholderFilter {
    pub include: Option<Vec<String>>,
    pub exclude: Option<Vec<String>>,
}

impl PlaceholderFilter {
    pub fn selects(&self, name: &str) -> bool {
        self.include
            .as_ref()
            .is_none_or(|i| i.iter().any(|x| x == name))
            && !self
                .exclude
                .as_ref()
                .is_some_and(|e| e.iter().any(|x| x == name))
    }
}

/// A pipeline file that could not be loaded: where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    pub path: String,
    pub line: u32,
    pub col: u32,
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.path, self.line, self.col, self.message
        )
    }
}

impl std::error::Error for LoadError {}

/// Load a pipeline from YAML text; `path` names the file in errors.
pub fn load(path: &str, text: &str) -> Result<Pipeline, LoadError> {
    let err = |n: Option<&Node>, message: String| LoadError {
        path: path.to_string(),
        line: n.map_or(1, |n| n.span.start.line),
        col: n.map_or(1, |n| n.span.start.col),
        message,
    };
    let stream = yaml::load(text).map_err(|e| LoadError {
        path: path.to_string(),
        line: e.pos.line,
        col: e.pos.col,
        message: format!("YAML: {}", e.message),
    })?;
    let doc = match stream.documents.as_slice() {
        [d] => d,
        _ => {
            return Err(err(
                None,
                "a pipeline file holds exactly one YAML document".into(),
            ));
        }
    };
    let r = Reader { err: &err };
    r.pipeline(doc)
}

type Err<'a> = &'a dyn Fn(Option<&Node>, String) -> LoadError;

struct Reader<'a> {
    err: Err<'a>,
}

const ITEM_KEYS: &[&str] = &[
    "id",
    "type",
    "rule_conditions",
    "rule_cond_op",
    "rule_cond_not",
    "detection_item_conditions",
    "detection_item_cond_op",
    "detection_item_cond_not",
    "field_name_conditions",
    "field_name_cond_op",
    "field_name_cond_not",
];

impl Reader<'_> {
    fn fail<T>(&self, n: &Node, message: impl Into<String>) -> Result<T, LoadError> {
        Err((self.err)(Some(n), message.into()))
    }

    fn map<'n>(&self, n: &'n Node, what: &str) -> Result<&'n [(Node, Node)], LoadError> {
        match n.as_map() {
            Some(m) => Ok(m),
            None => self.fail(
                n,
                format!("{what} must be a mapping, not {}", n.value.kind()),
            ),
        }
    }

    fn string(&self, n: &Node, what: &str) -> Result<String, LoadError> {
        match &n.value {
            Y::Str { text, .. } => Ok(text.clone()),
            Y::Int(i) => Ok(i.to_string()),
            Y::Float(f) => Ok(f.to_string()),
            Y::Bool(b) => Ok(b.to_string()),
            _ => self.fail(
                n,
                format!("{what} must be a string, not {}", n.value.kind()),
            ),
        }
    }

    /// A scalar as a Sigma value: a string, number or boolean (`force`: `str` or `num`).
    fn scalar_value(
        &self,
        v: &Node,
        force: Option<&str>,
    ) -> Result<sigma::value::Value, LoadError> {
        use sigma::value::{SigmaString, Value};
        let text = self.string(v, "`value`")?;
        Ok(match (force, &v.value) {
            (Some("str"), _) | (None, Y::Str { .. }) => Value::Str {
                s: SigmaString::parse(&text),
                cased: false,
            },
            (Some("num"), _) | (None, Y::Int(_) | Y::Float(_)) => Value::Num(text),
            (None, Y::Bool(b)) => Value::Bool(*b),
            (Some(other), _) => {
                return self.fail(v, format!("`force_type` must be str or num, not {other}"));
            }
            (None, _) => return self.fail(v, "`value` must be a string, number or boolean"),
        })
    }

    fn opt_string(&self, n: Option<&Node>, what: &str) -> Result<Option<String>, LoadError> {
        match n {
            None => Ok(None),
            Some(n) if n.is_null() => Ok(None),
            Some(n) => self.string(n, what).map(Some),
        }
    }

    fn strings(&self, n: &Node, what: &str) -> Result<Vec<String>, LoadError> {
        match n.as_seq() {
            Some(s) => s.iter().map(|x| self.string(x, what)).collect(),
            None => Ok(vec![self.string(n, what)?]),
        }
    }

    fn bool(&self, n: Option<&Node>, what: &str) -> Result<bool, LoadError> {
        match n {
            None => Ok(false),
            Some(n) => match n.as_bool() {
                Some(b) => Ok(b),
                None => self.fail(n, format!("{what} must be true or false")),
            },
        }
    }

    fn required<'n>(&self, m: &'n Node, key: &str, what: &str) -> Result<&'n Node, LoadError> {
        match m.get(key) {
            Some(n) => Ok(n),
            None => self.fail(m, format!("{what} needs `{key}`")),
        }
    }

    fn regex(&self, n: &Node, what: &str) -> Result<regex::Regex, LoadError> {
        let s = self.string(n, what)?;
        regex::Regex::new(&s).or_else(|e| {
            self.fail(
                n,
                format!("{what}: invalid regular expression: {}", one_line(&e)),
            )
        })
    }

    fn pipeline(&self, doc: &Node) -> Result<Pipeline, LoadError> {
        for (k, _) in self.map(doc, "a pipeline")? {
            let key = self.string(k, "a key")?;
            if ![
                "name",
                "priority",
                "vars",
                "transformations",
                "postprocessing",
                "finalizers",
                "allowed_backends",
            ]
            .contains(&key.as_str())
            {
                return self.fail(k, format!("unknown pipeline key `{key}`"));
            }
            if key == "postprocessing" || key == "finalizers" {
                return self.fail(
                    k,
                    format!("`{key}` is not supported yet (detdex places the query table itself; see ARCHITECTURE.md)"),
                );
            }
        }
        let name = self
            .opt_string(doc.get("name"), "`name`")?
            .unwrap_or_default();
        let priority = match doc.get("priority") {
            None => 0,
            Some(n) => match n.as_i64() {
                Some(i) => i,
                None => return self.fail(n, "`priority` must be an integer"),
            },
        };
        let mut vars = Vec::new();
        if let Some(v) = doc.get("vars") {
            for (k, v) in self.map(v, "`vars`")? {
                vars.push((
                    self.string(k, "a variable name")?,
                    self.strings(v, "a variable value")?,
                ));
            }
        }
        let mut items = Vec::new();
        if let Some(t) = doc.get("transformations") {
            let Some(list) = t.as_seq() else {
                return self.fail(t, "`transformations` must be a list");
            };
            for n in list {
                items.push(self.item(n)?);
            }
        }
        Ok(Pipeline {
            name,
            priority,
            vars,
            items,
        })
    }

    fn conditions<C>(
        &self,
        n: &Node,
        prefix: &str,
        one: impl Fn(&Self, &Node, &str) -> Result<C, LoadError>,
    ) -> Result<Conditions<C>, LoadError> {
        let list_key = format!("{prefix}_conditions");
        if let Some(e) = n.get(&format!("{prefix}_cond_expr")) {
            return self.fail(
                e,
                format!("`{prefix}_cond_expr` is not supported yet; use `{prefix}_cond_op` and `{prefix}_cond_not`"),
            );
        }
        let mut list = Vec::new();
        if let Some(c) = n.get(&list_key) {
            let Some(seq) = c.as_seq() else {
                return self.fail(c, format!("`{list_key}` must be a list"));
            };
            for c in seq {
                self.map(c, "a condition")?;
                let ty = self.string(self.required(c, "type", "a condition")?, "`type`")?;
                list.push(one(self, c, &ty)?);
            }
        }
        let all = match n.get(&format!("{prefix}_cond_op")) {
            None => true,
            Some(op) => match op.as_str() {
                Some("and") => true,
                Some("or") => false,
                _ => return self.fail(op, format!("`{prefix}_cond_op` must be `and` or `or`")),
            },
        };
        let negated = self.bool(n.get(&format!("{prefix}_cond_not")), "a `_cond_not`")?;
        Ok(Conditions { list, all, negated })
    }

    fn state_test(&self, c: &Node) -> Result<StateTest, LoadError> {
        let key = self.string(self.required(c, "key", "`processing_state`")?, "`key`")?;
        let val = self.opt_string(
            Some(self.required(c, "val", "`processing_state`")?),
            "`val`",
        )?;
        let op = self
            .opt_string(c.get("op"), "`op`")?
            .unwrap_or_else(|| "eq".into());
        if !["eq", "ne", "gt", "gte", "lt", "lte"].contains(&op.as_str()) {
            return self.fail(c, format!("unknown `op` `{op}` (eq, ne, gt, gte, lt, lte)"));
        }
        Ok(StateTest { key, val, op })
    }

    fn any_all(&self, c: &Node) -> Result<bool, LoadError> {
        match c.get("cond").map(|n| (n, n.as_str())) {
            None => Ok(false),
            Some((_, Some("any"))) => Ok(false),
            Some((_, Some("all"))) => Ok(true),
            Some((n, _)) => self.fail(n, "`cond` must be `any` or `all`"),
        }
    }

    fn rule_condition(&self, c: &Node, ty: &str) -> Result<RuleCondition, LoadError> {
        Ok(match ty {
            "logsource" => RuleCondition::Logsource {
                category: self.opt_string(c.get("category"), "`category`")?,
                product: self.opt_string(c.get("product"), "`product`")?,
                service: self.opt_string(c.get("service"), "`service`")?,
            },
            "contains_detection_item" => RuleCondition::ContainsDetectionItem {
                field: self.opt_string(c.get("field"), "`field`")?,
                value: self.string(self.required(c, "value", ty)?, "`value`")?,
            },
            "contains_field" => {
                RuleCondition::ContainsField(self.opt_string(c.get("field"), "`field`")?)
            }
            "processing_item_applied" => RuleCondition::ProcessingItemApplied(self.string(
                self.required(c, "processing_item_id", ty)?,
                "`processing_item_id`",
            )?),
            "processing_state" => RuleCondition::ProcessingState(self.state_test(c)?),
            "tag" => RuleCondition::Tag(self.string(self.required(c, "tag", ty)?, "`tag`")?),
            "is_sigma_rule" => RuleCondition::IsSigmaRule(true),
            "is_sigma_correlation_rule" => RuleCondition::IsSigmaRule(false),
            _ => {
                return self.fail(
                    c,
                    format!("unknown rule condition type `{ty}` (logsource, contains_detection_item, contains_field, processing_item_applied, processing_state, tag, is_sigma_rule, is_sigma_correlation_rule)"),
                );
            }
        })
    }

    fn item_condition(&self, c: &Node, ty: &str) -> Result<ItemCondition, LoadError> {
        Ok(match ty {
            "match_string" => ItemCondition::MatchString {
                regex: self.regex(self.required(c, "pattern", ty)?, "`pattern`")?,
                negate: self.bool(c.get("negate"), "`negate`")?,
                all: self.any_all(c)?,
            },
            "is_null" => ItemCondition::IsNull {
                all: self.any_all(c)?,
            },
            "contains_wildcard" => ItemCondition::ContainsWildcard {
                all: self.any_all(c)?,
            },
            "match_value" => ItemCondition::MatchValue {
                value: self.scalar_value(self.required(c, "value", ty)?, None)?,
                all: self.any_all(c)?,
            },
            "processing_item_applied" => ItemCondition::ProcessingItemApplied(self.string(
                self.required(c, "processing_item_id", ty)?,
                "`processing_item_id`",
            )?),
            "processing_state" => ItemCondition::ProcessingState(self.state_test(c)?),
            _ => {
                return self.fail(
                    c,
                    format!("unknown detection item condition type `{ty}` (match_string, match_value, is_null, contains_wildcard, processing_item_applied, processing_state)"),
                );
            }
        })
    }

    fn field_condition(&self, c: &Node, ty: &str) -> Result<FieldCondition, LoadError> {
        Ok(match ty {
            "include_fields" | "exclude_fields" => {
                let fields = self.strings(self.required(c, "fields", ty)?, "a field")?;
                let mode = self.opt_string(c.get("mode"), "`mode`")?;
                let regexes = match mode.as_deref() {
                    None | Some("plain") => vec![],
                    Some("re") => fields
                        .iter()
                        .map(|f| {
                            regex::Regex::new(&format!("^(?:{f})$")).or_else(|e| {
                                self.fail(
                                    c,
                                    format!("invalid field pattern `{f}`: {}", one_line(&e)),
                                )
                            })
                        })
                        .collect::<Result<_, _>>()?,
                    Some(m) => return self.fail(c, format!("unknown `mode` `{m}` (plain, re)")),
                };
                FieldCondition::Fields {
                    fields: if regexes.is_empty() { fields } else { vec![] },
                    regexes,
                    exclude: ty == "exclude_fields",
                }
            }
            "processing_item_applied" => FieldCondition::ProcessingItemApplied(self.string(
                self.required(c, "processing_item_id", ty)?,
                "`processing_item_id`",
            )?),
            "processing_state" => FieldCondition::ProcessingState(self.state_test(c)?),
            _ => {
                return self.fail(
                    c,
                    format!("unknown field name condition type `{ty}` (include_fields, exclude_fields, processing_item_applied, processing_state)"),
                );
            }
        })
    }

    fn item(&self, n: &Node) -> Result<ProcessingItem, LoadError> {
        self.map(n, "a transformation")?;
        let ty_node = self.required(n, "type", "a transformation")?;
        let ty = self.string(ty_node, "`type`")?;
        let keys: &[&str] = match ty.as_str() {
            "field_name_mapping" | "field_name_prefix_mapping" => &["mapping"],
            "field_name_prefix" => &["prefix"],
            "field_name_suffix" => &["suffix"],
            "add_condition" => &["conditions", "negated", "template", "name"],
            "change_logsource" => &["category", "product", "service"],
            "replace_string" => &["regex", "replacement", "skip_special", "interpret_special"],
            "drop_detection_item" => &[],
            "set_state" => &["key", "val"],
            "rule_failure" | "detection_item_failure" => &["message"],
            "value_placeholders" | "wildcard_placeholders" => &["include", "exclude"],
            "map_string" | "split_domain_user" => &["mapping"],
            "set_value" => &["value", "force_type"],
            "convert_type" => &["target_type"],
            "hashes_fields" => &[
                "valid_hash_algos",
                "field_prefix",
                "drop_algo_prefix",
                "field_to_parse",
            ],
            _ => {
                return self.fail(
                    ty_node,
                    format!("unknown transformation type `{ty}`; detdex supports field_name_mapping, field_name_prefix_mapping, field_name_prefix, field_name_suffix, add_condition, change_logsource, replace_string, drop_detection_item, set_state, rule_failure, detection_item_failure, value_placeholders, wildcard_placeholders, map_string, set_value, convert_type, hashes_fields, split_domain_user"),
                );
            }
        };
        for (k, _) in n.as_map().unwrap_or(&[]) {
            let key = self.string(k, "a key")?;
            if !ITEM_KEYS.contains(&key.as_str())
                && !keys.contains(&key.as_str())
                && !key.ends_with("_cond_expr")
            {
                return self.fail(
                    k,
                    format!("unknown key `{key}` for a `{ty}` transformation"),
                );
            }
        }
        let s = |key: &str| -> Result<String, LoadError> {
            self.string(
                self.required(n, key, &format!("`{ty}`"))?,
                &format!("`{key}`"),
            )
        };
        let transformation = match ty.as_str() {
            "field_name_mapping" => {
                let m = self.required(n, "mapping", "`field_name_mapping`")?;
                let mut out = Vec::new();
                for (k, v) in self.map(m, "`mapping`")? {
                    out.push((self.string(k, "a field")?, self.strings(v, "a field")?));
                }
                Transformation::FieldNameMapping(out)
            }
            "field_name_prefix_mapping" => {
                let m = self.required(n, "mapping", "`field_name_prefix_mapping`")?;
                let mut out = Vec::new();
                for (k, v) in self.map(m, "`mapping`")? {
                    out.push((self.string(k, "a prefix")?, self.string(v, "a prefix")?));
                }
                Transformation::FieldNamePrefixMapping(out)
            }
            "field_name_prefix" => Transformation::FieldNamePrefix(s("prefix")?),
            "field_name_suffix" => Transformation::FieldNameSuffix(s("suffix")?),
            "add_condition" => {
                let c = self.required(n, "conditions", "`add_condition`")?;
                self.map(c, "`conditions`")?;
                if let Err(problems) = sigma::detection_from_yaml(c) {
                    let (at, msg) = problems
                        .first()
                        .map(|p| (p.pos, p.message.clone()))
                        .unwrap_or((c.span.start, "invalid detection".into()));
                    return Err((self.err)(
                        Some(&Node {
                            value: Y::Null,
                            span: yaml::Span {
                                start: at,
                                ..c.span
                            },
                        }),
                        format!("`conditions`: {msg}"),
                    ));
                }
                Transformation::AddCondition {
                    conditions: c.clone(),
                    negated: self.bool(n.get("negated"), "`negated`")?,
                    template: self.bool(n.get("template"), "`template`")?,
                }
            }
            "change_logsource" => Transformation::ChangeLogsource {
                category: self.opt_string(n.get("category"), "`category`")?,
                product: self.opt_string(n.get("product"), "`product`")?,
                service: self.opt_string(n.get("service"), "`service`")?,
            },
            "replace_string" => {
                if self.bool(n.get("interpret_special"), "`interpret_special`")? {
                    return self.fail(n, "`interpret_special` is not supported yet");
                }
                Transformation::ReplaceString {
                    regex: self.regex(self.required(n, "regex", "`replace_string`")?, "`regex`")?,
                    replacement: python_replacement(&s("replacement")?),
                    skip_special: self.bool(n.get("skip_special"), "`skip_special`")?,
                }
            }
            "drop_detection_item" => Transformation::DropDetectionItem,
            "set_state" => Transformation::SetState {
                key: s("key")?,
                val: self.opt_string(Some(self.required(n, "val", "`set_state`")?), "`val`")?,
            },
            "rule_failure" => Transformation::RuleFailure(s("message")?),
            "detection_item_failure" => Transformation::DetectionItemFailure(s("message")?),
            "value_placeholders" | "wildcard_placeholders" => {
                let list = |k: &str| -> Result<Option<Vec<String>>, LoadError> {
                    n.get(k)
                        .map(|v| self.strings(v, "a placeholder"))
                        .transpose()
                };
                let f = PlaceholderFilter {
                    include: list("include")?,
                    exclude: list("exclude")?,
                };
                if ty == "value_placeholders" {
                    Transformation::ValuePlaceholders(f)
                } else {
                    Transformation::WildcardPlaceholders(f)
                }
            }
            "map_string" => {
                let m = self.required(n, "mapping", "`map_string`")?;
                let mut out = Vec::new();
                for (k, v) in self.map(m, "`mapping`")? {
                    out.push((self.string(k, "a value")?, self.strings(v, "a value")?));
                }
                Transformation::MapString(out)
            }
            "split_domain_user" => {
                let m = self.required(n, "mapping", "`split_domain_user`")?;
                let mut out = Vec::new();
                for (k, v) in self.map(m, "`mapping`")? {
                    out.push((self.string(k, "a field")?, self.string(v, "a field")?));
                }
                Transformation::SplitDomainUser(out)
            }
            "set_value" => {
                let v = self.required(n, "value", "`set_value`")?;
                let force = self.opt_string(n.get("force_type"), "`force_type`")?;
                Transformation::SetValue(self.scalar_value(v, force.as_deref())?)
            }
            "convert_type" => Transformation::ConvertType {
                to_str: match s("target_type")?.as_str() {
                    "str" => true,
                    "num" => false,
                    _ => {
                        return self.fail(
                            self.required(n, "target_type", "`convert_type`")?,
                            "`target_type` must be str or num",
                        );
                    }
                },
            },
            "hashes_fields" => Transformation::HashesFields {
                valid_hash_algos: self
                    .strings(
                        self.required(n, "valid_hash_algos", "`hashes_fields`")?,
                        "an algorithm",
                    )?
                    .into_iter()
                    .map(|a| a.to_uppercase())
                    .collect(),
                field_prefix: self
                    .opt_string(n.get("field_prefix"), "`field_prefix`")?
                    .unwrap_or_default(),
                drop_algo_prefix: self.bool(n.get("drop_algo_prefix"), "`drop_algo_prefix`")?,
                field_to_parse: match n.get("field_to_parse") {
                    Some(v) => self.strings(v, "a field")?,
                    None => vec!["Hashes".into(), "Hash".into()],
                },
            },
            _ => unreachable!("checked above"),
        };
        Ok(ProcessingItem {
            id: self.opt_string(n.get("id"), "`id`")?,
            transformation,
            rule_conditions: self.conditions(n, "rule", Self::rule_condition)?,
            detection_item_conditions: self.conditions(
                n,
                "detection_item",
                Self::item_condition,
            )?,
            field_name_conditions: self.conditions(n, "field_name", Self::field_condition)?,
        })
    }
}

fn one_line(e: &regex::Error) -> String {
    e.to_string()
        .lines()
        .last()
        .unwrap_or("")
        .trim()
        .to_string()
}

/// Python `re.sub` replacement syntax (`\1`, `\g<name>`, `\\`) → the `regex` crate's (`${1}`,
/// `${name}`, `\`, `$$`).
fn python_replacement(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.peek().copied() {
                Some(d) if d.is_ascii_digit() => {
                    let mut num = String::new();
                    while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                        num.push(d);
                        chars.next();
                    }
                    out.push_str(&format!("${{{num}}}"));
                }
                Some('g') => {
                    chars.next();
                    if chars.peek() == Some(&'<') {
                        chars.next();
                        let name: String = chars.by_ref().take_while(|&c| c != '>').collect();
                        out.push_str(&format!("${{{name}}}"));
                    } else {
                        out.push_str("\\g");
                    }
                }
                Some('\\') => {
                    chars.next();
                    out.push('\\');
                }
                Some('n') => {
                    chars.next();
                    out.push('\n');
                }
                Some('t') => {
                    chars.next();
                    out.push('\t');
                }
                _ => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_replacements() {
        assert_eq!(python_replacement(r"\1x"), "${1}x");
        assert_eq!(python_replacement(r"\g<name>"), "${name}");
        assert_eq!(
            python_replacement(r"HKEY_LOCAL_MACHINE\\SYSTEM"),
            r"HKEY_LOCAL_MACHINE\SYSTEM"
        );
        assert_eq!(python_replacement("a$b"), "a$$b");
    }

    #[test]
    fn unknown_type_names_file_line_and_column() {
        let e = load(
            "p.yml",
            "name: x\ntransformations:\n  - id: a\n    type: no_such_thing\n",
        )
        .unwrap_err();
        assert_eq!((e.line, e.col), (4, 11));
        assert!(
            e.to_string()
                .starts_with("p.yml:4:11: unknown transformation type `no_such_thing`")
        );
    }

    #[test]
    fn unknown_condition_type_is_an_error() {
        let e = load(
            "p.yml",
            "transformations:\n  - type: drop_detection_item\n    rule_conditions:\n      - type: nope\n",
        )
        .unwrap_err();
        assert_eq!(e.line, 4);
        assert!(e.message.contains("unknown rule condition type `nope`"));
    }

    #[test]
    fn unknown_key_is_an_error() {
        let e = load(
            "p.yml",
            "transformations:\n  - type: set_state\n    key: a\n    val: b\n    vall: c\n",
        )
        .unwrap_err();
        assert_eq!(e.line, 5);
    }

    #[test]
    fn loads_every_type() {
        let p = load(
            "p.yml",
            r#"
name: all
priority: 20
vars:
  admins: [root, admin]
transformations:
  - {id: m, type: field_name_mapping, mapping: {a: b, c: [d, e]}}
  - {type: field_name_prefix_mapping, mapping: {x.: y.}}
  - {type: field_name_prefix, prefix: p_}
  - {type: field_name_suffix, suffix: _s}
  - {type: add_condition, conditions: {f|endswith: x}, negated: true}
  - {type: change_logsource, category: c}
  - {type: replace_string, regex: "^a", replacement: "b"}
  - type: drop_detection_item
    field_name_conditions: [{type: include_fields, fields: [z]}]
  - type: set_state
    key: query_table
    val: T
    rule_conditions: [{type: logsource, category: process_creation}]
    rule_cond_op: or
    rule_cond_not: true
  - {type: rule_failure, message: no}
  - type: detection_item_failure
    message: "field {field}"
    detection_item_conditions: [{type: match_string, pattern: "x", cond: all}, {type: is_null}]
    field_name_conditions: [{type: exclude_fields, fields: ["a.*"], mode: re}]
  - {type: value_placeholders, include: [admins]}
  - {type: wildcard_placeholders}
  - {type: map_string, mapping: {a: b, c: [d, e]}}
  - {type: hashes_fields, valid_hash_algos: [md5, SHA1], field_prefix: File}
"#,
        )
        .unwrap();
        assert_eq!(p.priority, 20);
        assert_eq!(p.items.len(), 15);
        assert_eq!(p.vars[0].1, vec!["root", "admin"]);
        assert!(p.items[8].rule_conditions.negated && !p.items[8].rule_conditions.all);
    }
}
