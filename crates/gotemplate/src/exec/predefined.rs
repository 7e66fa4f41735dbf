//! Printing a pipeline that ends in `html` or `urlquery` in HTML mode, as `html/template`
//! rewrites it: such a call must come last, and where the context has an equivalent
//! escaper of its own, the call is dropped and the builtin runs in that escaper's place, so
//! the value is not escaped twice (`{{ .X | urlquery }}` in a link's query stays as
//! `urlquery` wrote it).

use super::{Flow, R, State, V, flatten};
use crate::ast::{Arg, Pipe};
use crate::html::Predefined;
use crate::printf::quote;
use crate::value::Value;
use crate::{Error, ErrorKind};

/// The predefined escaper a command calls, if any.
fn predefined(args: &[Arg]) -> Option<(&str, Predefined)> {
    match args.first() {
        Some(Arg::Ident(_, name)) => Predefined::named(name).map(|p| (name.as_str(), p)),
        _ => None,
    }
}

impl State<'_, '_> {
    /// Handles a printing action whose pipeline calls `html` or `urlquery`; `Ok(false)` when
    /// it calls neither (or when not in HTML mode) and the caller prints it as usual.
    /// Never inlined: its locals would enlarge every frame of the recursive walk.
    #[inline(never)]
    pub(super) fn print_with_predefined(&mut self, dot: &V, pipe: &Pipe) -> R<bool> {
        let Some(escaper) = self.escaper.as_deref() else { return Ok(false) };
        let Some((last, leading)) = pipe.cmds.split_last() else { return Ok(false) };
        if let Some((name, _)) = leading.iter().find_map(|cmd| predefined(&cmd.args)) {
            return Err(self.disallowed(pipe, name));
        }
        let Some((name, esc)) = predefined(&last.args) else { return Ok(false) };
        if !escaper.predefined_allowed(esc) {
            return Err(self.disallowed(pipe, name));
        }
        // What the final call receives: the value of the commands before it, or, for a lone
        // `{{html a b}}`, its arguments printed together (Go's `_eval_args_`).
        let input = if leading.is_empty() {
            let argv = self.eval_call_args(dot, &last.args, None)?;
            Value::String(crate::funcs::eval_args(&argv))
        } else {
            let mut fin: Option<V> = None;
            for cmd in leading {
                let v = self.eval_command(dot, cmd, fin.take())?;
                fin = Some(flatten(v));
            }
            fin.flatten().unwrap_or(Value::Nil)
        };
        let escaper = self.escaper.as_deref_mut().expect("checked above");
        match escaper.escape_with_predefined(&input, esc) {
            Some(text) => {
                self.out.push_str(&text);
                Ok(true)
            }
            // No equivalent escaper here: the call stays and the context escapes its output.
            None => {
                let output = if leading.is_empty() {
                    let text = crate::funcs::eval_args(std::slice::from_ref(&input));
                    Some(Value::String(esc.apply(&text)))
                } else {
                    flatten(self.eval_command(dot, last, Some(Some(input)))?)
                };
                self.print(pipe, output)?;
                Ok(true)
            }
        }
    }

    fn disallowed(&self, pipe: &Pipe, name: &str) -> Flow {
        Flow::Err(Error {
            kind: ErrorKind::Exec,
            msg: format!(
                "html/template:{}:{}:{}: predefined escaper {} disallowed in template",
                self.tree.parse_name,
                pipe.pos.line,
                pipe.pos.col,
                quote(name)
            ),
        })
    }
}
