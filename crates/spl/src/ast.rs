//! The SPL syntax tree. Every node that stands for a piece of the source carries its byte span
//! (`Range<usize>` into the parsed text). [`Pipeline::clear_spans`] sets them all to `0..0`, so
//! two trees can be compared for structure alone.

use std::ops::Range;

pub type Span = Range<usize>;

/// Commands separated by `|`.
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    /// Written with a `|` before the first command (`| tstats …`).
    pub leading_pipe: bool,
    pub commands: Vec<Command>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    pub kind: CommandKind,
    /// From the command name (or the first term of an implicit search) to its last argument.
    pub span: Span,
}

/// A word of the search language or a command argument: bare (`*\\Temp\\*`, `Processes.dest`)
/// or double-quoted (`text` is then the value, `\"` and `\\` unescaped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    pub quoted: bool,
    pub span: Span,
}

/// A `` `name(arg, …)` `` macro call left unexpanded. Arguments are kept as written (trimmed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacroCall {
    pub name: String,
    pub args: Vec<String>,
    pub span: Span,
}

/// `key=value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Opt {
    pub key: String,
    pub value: OptValue,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum OptValue {
    Word(Word),
    /// `startswith=(EventCode=4698)`.
    Search(SearchExpr),
    /// `startswith=eval(x > 1)`.
    Eval(Expr),
}

#[derive(Debug, Clone, PartialEq)]
pub enum CommandKind {
    /// `search <expr>`; `explicit` is false for the implicit first command. `expr` is `None`
    /// for an empty search.
    Search {
        explicit: bool,
        expr: Option<SearchExpr>,
    },
    /// `where <expr>`.
    Where(Expr),
    /// `eval a=expr, b=expr`.
    Eval(Vec<Assignment>),
    /// `tstats`, `mstats`, `stats`, `eventstats`, `streamstats`.
    Stats(Stats),
    /// `from datamodel X.Y` / `from datamodel:X.Y` (`kind` is `datamodel`).
    From {
        kind: String,
        dataset: Word,
    },
    /// `datamodel [model [dataset [mode]]]`.
    Datamodel(Vec<Word>),
    /// `rename a as b, …`.
    Rename(Vec<(Word, Word)>),
    /// `rex [options] "regex"`.
    Rex {
        options: Vec<Opt>,
        regex: Word,
    },
    /// `regex [field=|field!=]"regex"`.
    Regex {
        field: Option<Word>,
        negated: bool,
        regex: Word,
    },
    Lookup(Lookup),
    /// `inputlookup [options] table [where <search expr>]`.
    Inputlookup {
        options: Vec<Opt>,
        table: Word,
        filter: Option<SearchExpr>,
    },
    /// `join [options] [fields] [subsearch]`.
    Join {
        options: Vec<Opt>,
        fields: Vec<Word>,
        subsearch: Pipeline,
    },
    /// `append [options] [subsearch]`.
    Append {
        options: Vec<Opt>,
        subsearch: Pipeline,
    },
    /// `sort [count] [+|-]field …`.
    Sort {
        count: Option<Word>,
        keys: Vec<SortKey>,
    },
    /// `convert [options] func(field) [as name] …`.
    Convert {
        options: Vec<Opt>,
        items: Vec<Agg>,
    },
    /// Commands made of options and fields: table, fields, dedup, bin/bucket, spath, mvexpand,
    /// fillnull, head, tail, makemv, transaction, iplocation, collect, outputlookup.
    Fields(FieldsCmd),
    /// A command that is only a macro call (`` | `drop_dm_object_name(Processes)` ``), with any
    /// tokens written after it.
    Macro {
        call: MacroCall,
        args: Vec<Arg>,
    },
    /// Any other command: its name and raw arguments.
    Generic {
        name: String,
        args: Vec<Arg>,
    },
}

/// An argument of a command parsed generically.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// One token as written.
    Raw(String),
    /// A `[ … ]` that parses as a pipeline.
    Subsearch(Pipeline),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    pub field: Field,
    pub value: Expr,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatsKind {
    Stats,
    Eventstats,
    Streamstats,
    Tstats,
    Mstats,
}

impl StatsKind {
    pub fn name(self) -> &'static str {
        match self {
            StatsKind::Stats => "stats",
            StatsKind::Eventstats => "eventstats",
            StatsKind::Streamstats => "streamstats",
            StatsKind::Tstats => "tstats",
            StatsKind::Mstats => "mstats",
        }
    }
}

/// The statistics commands. `from` and `filter` are only read for `tstats`/`mstats`.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    pub kind: StatsKind,
    /// `summariesonly=true`, `window=2`, …
    pub options: Vec<Opt>,
    /// Macros among the options (`` `security_content_summariesonly` ``).
    pub macros: Vec<MacroCall>,
    pub aggs: Vec<Agg>,
    /// `from datamodel=Endpoint.Processes` → `Endpoint.Processes`.
    pub from: Option<Word>,
    /// `where <search expr>`.
    pub filter: Option<SearchExpr>,
    /// `by` fields.
    pub by: Vec<Word>,
    /// Options inside the `by` clause (`span=1h`).
    pub by_options: Vec<Opt>,
}

/// `func`, `func(field)`, `func(eval(expr))`, each with an optional `as alias`.
#[derive(Debug, Clone, PartialEq)]
pub struct Agg {
    pub func: String,
    pub args: Vec<AggArg>,
    pub alias: Option<Word>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AggArg {
    Field(Word),
    Eval(Expr),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Lookup {
    pub options: Vec<Opt>,
    pub table: Word,
    pub inputs: Vec<LookupField>,
    /// `OUTPUT` (false) or `OUTPUTNEW` (true) and its fields.
    pub output: Option<(bool, Vec<LookupField>)>,
}

/// `field [as alias]`.
#[derive(Debug, Clone, PartialEq)]
pub struct LookupField {
    pub field: Word,
    pub alias: Option<Word>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sign {
    Plus,
    Minus,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SortKey {
    pub sign: Option<Sign>,
    /// `num(field)` → `Some("num")`.
    pub func: Option<String>,
    pub field: Word,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FieldsCmd {
    /// The command name, lower case (`bucket` stays `bucket`).
    pub name: String,
    /// `fields - a b`.
    pub sign: Option<Sign>,
    pub options: Vec<Opt>,
    pub fields: Vec<Word>,
    /// `bin _time as day`.
    pub alias: Option<Word>,
}

/// The search language.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchExpr {
    pub kind: SearchKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SearchKind {
    /// Explicit `AND` or juxtaposition; two or more operands.
    And(Vec<SearchExpr>),
    /// Two or more operands.
    Or(Vec<SearchExpr>),
    Not(Box<SearchExpr>),
    /// `field=value`, `field!=value`, `field<value`, …
    Compare {
        field: Word,
        op: CmpOp,
        value: Word,
    },
    /// `field IN (a, b, "c")`; each value is a `Term` or a `Macro`.
    In {
        field: Word,
        values: Vec<SearchExpr>,
    },
    /// A bare or quoted term (keyword).
    Term(Word),
    /// `TERM(x)`.
    TermFn(Word),
    /// `CASE(x)`.
    CaseFn(Word),
    Macro(MacroCall),
    Subsearch(Pipeline),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    EqEq,
    Neq,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::EqEq => "==",
            CmpOp::Neq => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// A field name in an expression: bare (`Processes.process`) or single-quoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub quoted: bool,
    pub span: Span,
}

/// The `eval` / `where` expression language.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    Not(Box<Expr>),
    Neg(Box<Expr>),
    /// `x IN (a, b)`.
    In {
        expr: Box<Expr>,
        list: Vec<Expr>,
    },
    Call {
        name: String,
        args: Vec<Expr>,
    },
    Field(Field),
    /// A string literal (unescaped).
    Str(String),
    /// A number as written.
    Num(String),
    Macro(MacroCall),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Or,
    Xor,
    And,
    Cmp(CmpOp),
    Like,
    Add,
    Sub,
    Concat,
    Mul,
    Div,
    Mod,
}

impl BinOp {
    /// Binding strength: higher binds tighter.
    pub fn precedence(self) -> u8 {
        match self {
            BinOp::Or | BinOp::Xor => 1,
            BinOp::And => 2,
            BinOp::Cmp(_) | BinOp::Like => 4,
            BinOp::Add | BinOp::Sub | BinOp::Concat => 5,
            BinOp::Mul | BinOp::Div | BinOp::Mod => 6,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            BinOp::Or => "OR",
            BinOp::Xor => "XOR",
            BinOp::And => "AND",
            BinOp::Cmp(c) => c.as_str(),
            BinOp::Like => "LIKE",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Concat => ".",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
        }
    }
}

impl Pipeline {
    /// Set every span in the tree to `0..0`.
    pub fn clear_spans(&mut self) {
        self.span = 0..0;
        for c in &mut self.commands {
            c.clear_spans();
        }
    }
}

fn clear_word(w: &mut Word) {
    w.span = 0..0;
}
fn clear_opts(o: &mut [Opt]) {
    for o in o {
        o.span = 0..0;
        match &mut o.value {
            OptValue::Word(w) => clear_word(w),
            OptValue::Search(e) => e.clear_spans(),
            OptValue::Eval(e) => e.clear_spans(),
        }
    }
}
fn clear_words(w: &mut [Word]) {
    w.iter_mut().for_each(clear_word);
}
fn clear_args(args: &mut [Arg]) {
    for a in args {
        if let Arg::Subsearch(p) = a {
            p.clear_spans();
        }
    }
}
fn clear_agg(a: &mut Agg) {
    a.span = 0..0;
    for x in &mut a.args {
        match x {
            AggArg::Field(w) => clear_word(w),
            AggArg::Eval(e) => e.clear_spans(),
        }
    }
    if let Some(w) = &mut a.alias {
        clear_word(w);
    }
}
fn clear_lookup_fields(f: &mut [LookupField]) {
    for f in f {
        clear_word(&mut f.field);
        if let Some(a) = &mut f.alias {
            clear_word(a);
        }
    }
}

impl Command {
    pub fn clear_spans(&mut self) {
        self.span = 0..0;
        match &mut self.kind {
            CommandKind::Search { expr, .. } => {
                if let Some(e) = expr {
                    e.clear_spans();
                }
            }
            CommandKind::Where(e) => e.clear_spans(),
            CommandKind::Eval(a) => {
                for a in a {
                    a.span = 0..0;
                    a.field.span = 0..0;
                    a.value.clear_spans();
                }
            }
            CommandKind::Stats(s) => {
                clear_opts(&mut s.options);
                s.macros.iter_mut().for_each(|m| m.span = 0..0);
                s.aggs.iter_mut().for_each(clear_agg);
                if let Some(w) = &mut s.from {
                    clear_word(w);
                }
                if let Some(e) = &mut s.filter {
                    e.clear_spans();
                }
                clear_words(&mut s.by);
                clear_opts(&mut s.by_options);
            }
            CommandKind::From { dataset, .. } => clear_word(dataset),
            CommandKind::Datamodel(w) => clear_words(w),
            CommandKind::Rename(pairs) => {
                for (a, b) in pairs {
                    clear_word(a);
                    clear_word(b);
                }
            }
            CommandKind::Rex { options, regex } => {
                clear_opts(options);
                clear_word(regex);
            }
            CommandKind::Regex { field, regex, .. } => {
                if let Some(f) = field {
                    clear_word(f);
                }
                clear_word(regex);
            }
            CommandKind::Lookup(l) => {
                clear_opts(&mut l.options);
                clear_word(&mut l.table);
                clear_lookup_fields(&mut l.inputs);
                if let Some((_, o)) = &mut l.output {
                    clear_lookup_fields(o);
                }
            }
            CommandKind::Inputlookup {
                options,
                table,
                filter,
            } => {
                clear_opts(options);
                clear_word(table);
                if let Some(e) = filter {
                    e.clear_spans();
                }
            }
            CommandKind::Join {
                options,
                fields,
                subsearch,
            } => {
                clear_opts(options);
                clear_words(fields);
                subsearch.clear_spans();
            }
            CommandKind::Append { options, subsearch } => {
                clear_opts(options);
                subsearch.clear_spans();
            }
            CommandKind::Sort { count, keys } => {
                if let Some(c) = count {
                    clear_word(c);
                }
                keys.iter_mut().for_each(|k| clear_word(&mut k.field));
            }
            CommandKind::Convert { options, items } => {
                clear_opts(options);
                items.iter_mut().for_each(clear_agg);
            }
            CommandKind::Fields(f) => {
                clear_opts(&mut f.options);
                clear_words(&mut f.fields);
                if let Some(a) = &mut f.alias {
                    clear_word(a);
                }
            }
            CommandKind::Macro { call, args } => {
                call.span = 0..0;
                clear_args(args);
            }
            CommandKind::Generic { args, .. } => clear_args(args),
        }
    }
}

impl SearchExpr {
    pub fn clear_spans(&mut self) {
        self.span = 0..0;
        match &mut self.kind {
            SearchKind::And(v) | SearchKind::Or(v) => v.iter_mut().for_each(|e| e.clear_spans()),
            SearchKind::Not(e) => e.clear_spans(),
            SearchKind::Compare { field, value, .. } => {
                clear_word(field);
                clear_word(value);
            }
            SearchKind::In { field, values } => {
                clear_word(field);
                values.iter_mut().for_each(|e| e.clear_spans());
            }
            SearchKind::Term(w) | SearchKind::TermFn(w) | SearchKind::CaseFn(w) => clear_word(w),
            SearchKind::Macro(m) => m.span = 0..0,
            SearchKind::Subsearch(p) => p.clear_spans(),
        }
    }
}

impl Expr {
    pub fn clear_spans(&mut self) {
        self.span = 0..0;
        match &mut self.kind {
            ExprKind::Binary { lhs, rhs, .. } => {
                lhs.clear_spans();
                rhs.clear_spans();
            }
            ExprKind::Not(e) | ExprKind::Neg(e) => e.clear_spans(),
            ExprKind::In { expr, list } => {
                expr.clear_spans();
                list.iter_mut().for_each(|e| e.clear_spans());
            }
            ExprKind::Call { args, .. } => args.iter_mut().for_each(|e| e.clear_spans()),
            ExprKind::Field(f) => f.span = 0..0,
            ExprKind::Macro(m) => m.span = 0..0,
            ExprKind::Str(_) | ExprKind::Num(_) => {}
        }
    }
}
