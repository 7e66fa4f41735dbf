//! The evaluator: walks a parsed tree against data, with Go's rules for variables and
//! scopes, field and method lookup, missing keys, pipelines, `range`/`break`/`continue`
//! and template calls, and Go's execution error messages.
//!
//! Evaluation works on `Option<Value>`, where `None` is Go's *invalid* value (a missing map
//! key, or the nil left by a pipeline), which prints as `<no value>`; `Some(Value::Nil)` is
//! a nil interface, which still errors when a field is taken from it.

use crate::ast::{Arg, Branch, Command, Node, Number, Pipe, Pos, TemplateCall};
use crate::funcs::{arity, call_builtin};
use crate::html::Escaper;
use crate::parse::Tree;
use crate::printf::{quote, sprint_value};
use crate::value::{Func, Value};
use crate::{Error, ErrorKind, MissingKey};
use std::collections::HashMap;
use std::fmt::Display;
use std::sync::Arc;

/// Limit on nested template invocations plus nested `if`/`with`/`range` bodies. Go allows
/// 100000 template calls; this bound keeps execution within a 2 MiB thread stack (the
/// size of test and tokio worker threads) even in unoptimised builds.
pub(crate) const MAX_EXEC_DEPTH: usize = 1000;

/// What an execution can see: the template set, functions and options.
pub(crate) struct Env<'a> {
    pub(crate) trees: &'a HashMap<String, Arc<Tree>>,
    pub(crate) funcs: &'a HashMap<String, Func>,
    pub(crate) missing_key: MissingKey,
    pub(crate) html: bool,
}

mod predefined;

type V = Option<Value>;

/// Non-local exits: errors, and `break`/`continue` travelling up to their `range`.
pub(crate) enum Flow {
    Err(Error),
    Break,
    Continue,
}

type R<T> = Result<T, Flow>;

struct State<'e, 'o> {
    env: &'e Env<'e>,
    tree: &'e Tree,
    vars: Vec<(String, V)>,
    depth: usize,
    out: &'o mut String,
    escaper: Option<&'o mut Escaper>,
}

/// Executes `tree` with `dot` as data, appending to `out`.
pub(crate) fn execute(
    env: &Env<'_>,
    tree: &Tree,
    dot: Value,
    out: &mut String,
) -> Result<(), Error> {
    let mut escaper = env.html.then(Escaper::default);
    let mut st = State {
        env,
        tree,
        vars: vec![("$".into(), Some(dot.clone()))],
        depth: 0,
        out,
        escaper: escaper.as_mut(),
    };
    match st.walk_list(&Some(dot), &tree.root) {
        Ok(()) | Err(Flow::Break) | Err(Flow::Continue) => Ok(()),
        Err(Flow::Err(e)) => Err(e),
    }
}

/// Go's "dig down one level": a nil interface produced by a command becomes invalid.
fn flatten(v: V) -> V {
    match v {
        Some(Value::Nil) => None,
        v => v,
    }
}

impl State<'_, '_> {
    fn err_at(&self, pos: Pos, ctx: &dyn Display, msg: impl Display) -> Flow {
        let mut ctx = ctx.to_string();
        if ctx.chars().count() > 20 {
            ctx = ctx.chars().take(20).collect::<String>() + "...";
        }
        Flow::Err(Error {
            kind: ErrorKind::Exec,
            msg: format!(
                "template: {}:{}:{}: executing {} at <{}>: {}",
                self.tree.parse_name,
                pos.line,
                pos.col,
                quote(&self.tree.name),
                ctx,
                msg
            ),
        })
    }

    fn walk_list(&mut self, dot: &V, list: &[Node]) -> R<()> {
        for node in list {
            self.walk(dot, node)?;
        }
        Ok(())
    }

    fn walk(&mut self, dot: &V, node: &Node) -> R<()> {
        match node {
            Node::Text(t) => {
                match self.escaper.as_deref_mut() {
                    Some(esc) => self.out.push_str(&esc.feed_text(t)),
                    None => self.out.push_str(t),
                }
                Ok(())
            }
            Node::Action(pipe) => self.walk_action(dot, pipe),
            Node::If(b) => self.walk_if_with(dot, b, false),
            Node::With(b) => self.walk_if_with(dot, b, true),
            Node::Range(b) => self.walk_range(dot, b),
            Node::Template(t) => self.walk_template(dot, t),
            Node::Break => Err(Flow::Break),
            Node::Continue => Err(Flow::Continue),
        }
    }

    /// Kept out of [`State::walk`] so the frames of deep template recursion stay small.
    #[inline(never)]
    fn walk_action(&mut self, dot: &V, pipe: &Pipe) -> R<()> {
        if pipe.decl.is_empty()
            && self.escaper.is_some()
            && self.print_with_predefined(dot, pipe)?
        {
            return Ok(());
        }
        let v = self.eval_pipeline(dot, pipe)?;
        if pipe.decl.is_empty() {
            self.print(pipe, v)?;
        }
        Ok(())
    }

    fn print(&mut self, pipe: &Pipe, v: V) -> R<()> {
        let text = match &v {
            None => "<no value>".to_owned(),
            Some(Value::Func(_)) => {
                let ctx = format!("{{{{{pipe}}}}}");
                let ty = v.as_ref().map(Value::type_name).unwrap_or_default();
                return Err(self.err_at(pipe.pos, &ctx, format!("can't print {ctx} of type {ty}")));
            }
            Some(v) => {
                if let Some(esc) = self.escaper.as_deref_mut() {
                    esc.escape_value(v)
                } else {
                    sprint_value(v)
                }
            }
        };
        // html/template prints nothing, not "<no value>", for missing values.
        let text = match (&v, self.escaper.as_deref_mut()) {
            (None, Some(esc)) => esc.escape_str(""),
            _ => text,
        };
        self.out.push_str(&text);
        Ok(())
    }

    /// Counts one level of nesting; `at` is where a limit error is reported.
    fn enter(&mut self, pos: Pos, at: &dyn Display) -> R<()> {
        if self.depth >= MAX_EXEC_DEPTH {
            return Err(self.err_at(
                pos,
                at,
                format!("exceeded maximum template depth ({MAX_EXEC_DEPTH})"),
            ));
        }
        self.depth += 1;
        Ok(())
    }

    fn walk_if_with(&mut self, dot: &V, b: &Branch, with: bool) -> R<()> {
        self.enter(b.pipe.pos, &b.pipe)?;
        let r = self.walk_if_with_inner(dot, b, with);
        self.depth -= 1;
        r
    }

    fn walk_if_with_inner(&mut self, dot: &V, b: &Branch, with: bool) -> R<()> {
        let mark = self.vars.len();
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let truth = val.as_ref().is_some_and(Value::truth);
        let r = if truth {
            if with { self.walk_list(&val, &b.list) } else { self.walk_list(dot, &b.list) }
        } else if let Some(e) = &b.else_list {
            self.walk_list(dot, e)
        } else {
            Ok(())
        };
        self.vars.truncate(mark);
        r
    }

    fn range_items(&self, b: &Branch, val: &V) -> R<Vec<(Value, Value)>> {
        let cant = |v: &Value| {
            self.err_at(
                b.pipe.pos,
                &b.pipe,
                format!("range can't iterate over {}", sprint_value(v)),
            )
        };
        Ok(match val {
            None => Vec::new(),
            Some(Value::List(l)) => {
                l.iter().enumerate().map(|(i, v)| (Value::from(i), v.clone())).collect()
            }
            Some(Value::Map(m)) => {
                m.iter().map(|(k, v)| (Value::from(k.as_str()), v.clone())).collect()
            }
            Some(Value::Int(n)) => {
                if b.pipe.decl.len() > 1 {
                    return Err(self.err_at(
                        b.pipe.pos,
                        &b.pipe,
                        format!("can't use {n} to iterate over more than one variable"),
                    ));
                }
                (0..*n).map(|i| (Value::Int(i), Value::Int(i))).collect()
            }
            Some(Value::Object(o)) => match o.iter() {
                Some(items) => items,
                None => return Err(cant(&Value::Object(o.clone()))),
            },
            Some(v) => return Err(cant(v)),
        })
    }

    fn walk_range(&mut self, dot: &V, b: &Branch) -> R<()> {
        self.enter(b.pipe.pos, &b.pipe)?;
        let r = self.walk_range_inner(dot, b);
        self.depth -= 1;
        r
    }

    fn walk_range_inner(&mut self, dot: &V, b: &Branch) -> R<()> {
        let outer = self.vars.len();
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let mark = self.vars.len();
        let items = self.range_items(b, &val)?;
        if items.is_empty() {
            let r = match &b.else_list {
                Some(e) => self.walk_list(dot, e),
                None => Ok(()),
            };
            self.vars.truncate(outer);
            return r;
        }
        for (key, elem) in items {
            self.bind_range_vars(&b.pipe, key, elem.clone(), mark)?;
            let r = self.walk_list(&Some(elem), &b.list);
            self.vars.truncate(mark);
            match r {
                Ok(()) | Err(Flow::Continue) => {}
                Err(Flow::Break) => break,
                Err(e) => return Err(e),
            }
        }
        self.vars.truncate(outer);
        Ok(())
    }

    fn bind_range_vars(&mut self, pipe: &Pipe, key: Value, elem: Value, mark: usize) -> R<()> {
        if pipe.is_assign {
            if pipe.decl.len() > 1 {
                self.set_var(pipe, &pipe.decl[0], Some(key))?;
                self.set_var(pipe, &pipe.decl[1], Some(elem))?;
            } else if let Some(d) = pipe.decl.first() {
                self.set_var(pipe, d, Some(elem))?;
            }
            return Ok(());
        }
        match pipe.decl.len() {
            0 => {}
            1 => self.vars[mark - 1].1 = Some(elem),
            _ => {
                self.vars[mark - 1].1 = Some(elem);
                self.vars[mark - 2].1 = Some(key);
            }
        }
        Ok(())
    }

    fn walk_template(&mut self, dot: &V, t: &TemplateCall) -> R<()> {
        let Some(tree) = self.env.trees.get(&t.name) else {
            return Err(self.err_at(t.pos, t, format!("template {} not defined", quote(&t.name))));
        };
        if self.depth >= MAX_EXEC_DEPTH {
            return Err(self.err_at(
                t.pos,
                t,
                format!("exceeded maximum template depth ({MAX_EXEC_DEPTH})"),
            ));
        }
        let new_dot = match &t.pipe {
            Some(p) => self.eval_pipeline(dot, p)?,
            None => None,
        };
        let mut st = State {
            env: self.env,
            tree,
            vars: vec![("$".into(), new_dot.clone())],
            depth: self.depth + 1,
            out: &mut *self.out,
            escaper: self.escaper.as_deref_mut(),
        };
        match st.walk_list(&new_dot, &tree.root) {
            Err(Flow::Err(e)) => Err(Flow::Err(e)),
            _ => Ok(()),
        }
    }

    /// Assigns to an existing variable (`$x = ...`); Go reports assignment to an
    /// undeclared one at execution time.
    fn set_var(&mut self, pipe: &Pipe, name: &str, v: V) -> R<()> {
        match self.vars.iter_mut().rev().find(|(n, _)| n == name) {
            Some(slot) => {
                slot.1 = v;
                Ok(())
            }
            None => Err(self.err_at(pipe.pos, pipe, format!("undefined variable: {name}"))),
        }
    }

    fn var_value(&self, pos: Pos, arg: &Arg, name: &str) -> R<V> {
        match self.vars.iter().rev().find(|(n, _)| n == name) {
            Some((_, v)) => Ok(v.clone()),
            None => Err(self.err_at(pos, arg, format!("undefined variable: {name}"))),
        }
    }

    pub(crate) fn eval_pipeline(&mut self, dot: &V, pipe: &Pipe) -> R<V> {
        let mut fin: Option<V> = None;
        for cmd in &pipe.cmds {
            let v = self.eval_command(dot, cmd, fin.take())?;
            fin = Some(flatten(v));
        }
        let value = fin.flatten();
        for d in &pipe.decl {
            if pipe.is_assign {
                self.set_var(pipe, d, value.clone())?;
            } else {
                self.vars.push((d.clone(), value.clone()));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, args: &[Arg], fin: &Option<V>) -> R<()> {
        if args.len() > 1 || fin.is_some() {
            let a = &args[0];
            return Err(self.err_at(
                a.pos(),
                a,
                format!("can't give argument to non-function {a}"),
            ));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &V, cmd: &Command, fin: Option<V>) -> R<V> {
        let first = &cmd.args[0];
        match first {
            Arg::Field(_, names) => {
                self.eval_field_chain(dot, dot.clone(), first, names, &cmd.args, fin)
            }
            Arg::Chain(..) => self.eval_chain(dot, first, &cmd.args, fin),
            Arg::Ident(pos, name) => {
                self.eval_function(dot, *pos, name, (cmd.pos, cmd), &cmd.args, fin)
            }
            Arg::Pipe(p) => {
                self.not_a_function(&cmd.args, &fin)?;
                self.eval_pipeline(dot, p)
            }
            Arg::Variable(pos, var, names) => {
                let value = self.var_value(*pos, first, var)?;
                if names.is_empty() {
                    self.not_a_function(&cmd.args, &fin)?;
                    return Ok(value);
                }
                self.eval_field_chain(dot, value, first, names, &cmd.args, fin)
            }
            _ => {
                self.not_a_function(&cmd.args, &fin)?;
                match first {
                    Arg::Nil(pos) => Err(self.err_at(*pos, first, "nil is not a command")),
                    _ => self.eval_arg(dot, first),
                }
            }
        }
    }

    fn eval_chain(&mut self, dot: &V, arg: &Arg, args: &[Arg], fin: Option<V>) -> R<V> {
        let Arg::Chain(pos, node, names) = arg else {
            return Ok(None);
        };
        if let Arg::Nil(_) = node.as_ref() {
            return Err(self.err_at(
                *pos,
                arg,
                format!("indirection through explicit nil in {arg}"),
            ));
        }
        let recv = self.eval_arg(dot, node)?;
        self.eval_field_chain(dot, recv, arg, names, args, fin)
    }

    /// Evaluates an operand used as an argument.
    fn eval_arg(&mut self, dot: &V, arg: &Arg) -> R<V> {
        match arg {
            Arg::Bool(_, b) => Ok(Some(Value::Bool(*b))),
            Arg::Dot(_) => Ok(dot.clone()),
            Arg::Nil(_) => Ok(Some(Value::Nil)),
            Arg::Str(_, _, s) => Ok(Some(Value::String(s.clone()))),
            Arg::Number(pos, text, n) => match n {
                Number::Int(i) => Ok(Some(Value::Int(*i))),
                Number::Float(x) => Ok(Some(Value::Float(*x))),
                Number::Overflow => Err(self.err_at(*pos, arg, format!("{text} overflows int"))),
            },
            Arg::Field(_, names) => self.eval_field_chain(dot, dot.clone(), arg, names, &[], None),
            Arg::Variable(pos, var, names) => {
                let value = self.var_value(*pos, arg, var)?;
                if names.is_empty() {
                    return Ok(value);
                }
                self.eval_field_chain(dot, value, arg, names, &[], None)
            }
            Arg::Ident(pos, name) => {
                self.eval_function(dot, *pos, name, (*pos, arg), std::slice::from_ref(arg), None)
            }
            Arg::Pipe(p) => self.eval_pipeline(dot, p),
            Arg::Chain(..) => self.eval_chain(dot, arg, &[], None),
        }
    }

    /// Evaluates call arguments (skipping the callee in `args[0]`) plus the piped value.
    fn eval_call_args(&mut self, dot: &V, args: &[Arg], fin: Option<V>) -> R<Vec<Value>> {
        let mut out = Vec::with_capacity(args.len());
        for a in args.iter().skip(1) {
            out.push(self.eval_arg(dot, a)?.unwrap_or(Value::Nil));
        }
        if let Some(f) = fin {
            out.push(f.unwrap_or(Value::Nil));
        }
        Ok(out)
    }

    fn eval_field_chain(
        &mut self,
        dot: &V,
        recv: V,
        node: &Arg,
        names: &[String],
        args: &[Arg],
        fin: Option<V>,
    ) -> R<V> {
        let mut recv = recv;
        let (last, init) = names.split_last().expect("a chain has at least one field");
        for name in init {
            recv = self.eval_field(dot, name, node, &[], None, recv)?;
        }
        self.eval_field(dot, last, node, args, fin, recv)
    }

    fn missing_key(&self, node: &Arg, name: &str, zero: Value) -> R<V> {
        match self.env.missing_key {
            MissingKey::Default => Ok(None),
            MissingKey::Zero => Ok(Some(zero)),
            MissingKey::Error => Err(self.err_at(
                node.pos(),
                node,
                format!("map has no entry for key {}", quote(name)),
            )),
        }
    }

    fn eval_field(
        &mut self,
        dot: &V,
        name: &str,
        node: &Arg,
        args: &[Arg],
        fin: Option<V>,
        recv: V,
    ) -> R<V> {
        let pos = node.pos();
        let Some(recv) = recv else {
            if self.env.missing_key == MissingKey::Error {
                return Err(self.err_at(
                    pos,
                    node,
                    format!("nil data; no entry for key {}", quote(name)),
                ));
            }
            return Ok(None);
        };
        let has_args = args.len() > 1 || fin.is_some();
        match &recv {
            Value::Nil => {
                Err(self.err_at(pos, node, format!("nil pointer evaluating interface {{}}.{name}")))
            }
            Value::Object(o) => self.eval_object_field(dot, o.as_ref(), name, node, args, fin),
            Value::Map(m) => {
                if has_args {
                    return Err(self.err_at(
                        pos,
                        node,
                        format!("{name} is not a method but has arguments"),
                    ));
                }
                match m.get(name) {
                    Some(v) => Ok(Some(v.clone())),
                    None => self.missing_key(node, name, Value::Nil),
                }
            }
            other => Err(self.err_at(
                pos,
                node,
                format!("can't evaluate field {name} in type {}", other.type_name()),
            )),
        }
    }

    /// Field access on a host object: a method first, then a field or map key (Go's order).
    fn eval_object_field(
        &mut self,
        dot: &V,
        o: &dyn crate::TemplateObject,
        name: &str,
        node: &Arg,
        args: &[Arg],
        fin: Option<V>,
    ) -> R<V> {
        let pos = node.pos();
        let has_args = args.len() > 1 || fin.is_some();
        let call_args = self.eval_call_args(dot, args, fin)?;
        if let Some(r) = o.method(name, &call_args) {
            return r
                .map(Some)
                .map_err(|e| self.err_at(pos, node, format!("error calling {name}: {e}")));
        }
        let field = o.field(name);
        let zero = o.map_zero();
        if has_args && (field.is_some() || zero.is_some()) {
            let msg = if zero.is_some() {
                "is not a method but has arguments"
            } else {
                "has arguments but cannot be invoked as function"
            };
            return Err(self.err_at(pos, node, format!("{name} {msg}")));
        }
        match (field, zero) {
            (Some(v), _) => Ok(Some(v)),
            (None, Some(z)) => self.missing_key(node, name, z),
            (None, None) => Err(self.err_at(
                pos,
                node,
                format!("can't evaluate field {name} in type {}", o.type_name()),
            )),
        }
    }

    fn eval_function(
        &mut self,
        dot: &V,
        pos: Pos,
        name: &str,
        call: (Pos, &dyn Display),
        args: &[Arg],
        fin: Option<V>,
    ) -> R<V> {
        let user = self.env.funcs.get(name).cloned();
        if user.is_none() && !crate::funcs::BUILTINS.contains(&name) {
            return Err(self.err_at(
                pos,
                &name,
                format!("{} is not a defined function", quote(name)),
            ));
        }
        if user.is_none() {
            let got = args.len() - 1 + usize::from(fin.is_some());
            let (want, variadic) = arity(name);
            if variadic && got < want {
                return Err(self.err_at(
                    pos,
                    &name,
                    format!("wrong number of args for {name}: want at least {want} got {got}"),
                ));
            }
            if !variadic && got != want {
                return Err(self.err_at(
                    pos,
                    &name,
                    format!("wrong number of args for {name}: want {want} got {got}"),
                ));
            }
            if name == "and" || name == "or" {
                return self.and_or(dot, name == "or", args, fin);
            }
        }
        let argv = self.eval_call_args(dot, args, fin)?;
        if user.is_none() && name == "printf" {
            // Go converts the format argument before the call, so a non-string fails as an
            // argument error rather than as an error from printf.
            let ok = matches!(argv[0].basic(), Value::String(_));
            if !ok {
                let (pos, at): (Pos, &dyn Display) = match args.get(1) {
                    Some(a) => (a.pos(), a),
                    None => call,
                };
                let got = argv[0].type_name();
                return Err(self.err_at(
                    pos,
                    at,
                    format!("wrong type for value; expected string; got {got}"),
                ));
            }
        }
        let r = match user {
            Some(f) => f(&argv),
            None => call_builtin(name, &argv),
        };
        r.map(Some).map_err(|e| self.err_at(call.0, &call.1, format!("error calling {name}: {e}")))
    }

    /// `and`/`or`: evaluates arguments only until the result is known.
    fn and_or(&mut self, dot: &V, is_or: bool, args: &[Arg], fin: Option<V>) -> R<V> {
        let mut v = None;
        for a in args.iter().skip(1) {
            v = self.eval_arg(dot, a)?;
            if v.as_ref().is_some_and(Value::truth) == is_or {
                return Ok(v);
            }
        }
        if let Some(f) = fin {
            v = f;
        }
        Ok(v)
    }
}
