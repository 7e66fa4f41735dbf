//! The parser: builds trees from tokens with Go's grammar, checks variables and function
//! names, and collects `define`/`block` definitions. Errors read like Go's
//! (`template: NAME:LINE: MESSAGE`).

use crate::ast::{Arg, Branch, Command, Node, Pipe, Pos, TemplateCall, is_empty_list};
use crate::lex::{Item, Kw, Tok, lex};
use crate::literal::{parse_number, unquote, unquote_char};
use crate::{Error, ErrorKind};

/// Bounds nesting of control structures and parentheses so that parsing, execution and
/// dropping of trees cannot exhaust a 2 MiB stack, even unoptimised (Go allows 10000
/// nested parentheses; real templates nest a handful of levels).
pub(crate) const MAX_PARSE_DEPTH: usize = 100;

/// One named tree.
#[derive(Debug)]
pub(crate) struct Tree {
    pub(crate) name: String,
    pub(crate) parse_name: String,
    pub(crate) root: Vec<Node>,
}

/// How an item list ended.
enum Stop {
    End,
    Else,
}

impl Stop {
    fn describe(&self) -> &'static str {
        match self {
            Stop::End => "{{end}}",
            Stop::Else => "{{else}}",
        }
    }
}

enum Parsed {
    Node(Node),
    Stop(Stop),
}

struct Parser<'a> {
    src: &'a str,
    items: Vec<Item>,
    i: usize,
    line: usize,
    parse_name: &'a str,
    has_func: &'a dyn Fn(&str) -> bool,
    vars: Vec<String>,
    range_depth: usize,
    depth: usize,
    defs: Vec<Tree>,
}

type PResult<T> = Result<T, Error>;

/// Parses `src`; returns every tree it defines, the top-level one (named `name`) last.
pub(crate) fn parse(
    name: &str,
    src: &str,
    delims: (&str, &str),
    has_func: &dyn Fn(&str) -> bool,
) -> Result<Vec<Tree>, Error> {
    let mut p = Parser {
        src,
        items: lex(src, delims.0, delims.1),
        i: 0,
        line: 1,
        parse_name: name,
        has_func,
        vars: vec!["$".into()],
        range_depth: 0,
        depth: 0,
        defs: Vec::new(),
    };
    let mut root = Vec::new();
    loop {
        if p.peek().tok == Tok::Eof {
            break;
        }
        if p.peek().tok == Tok::LeftDelim {
            let save = p.i;
            p.next();
            if p.next_non_space().tok == Tok::Kw(Kw::Define) {
                p.parse_definition()?;
                continue;
            }
            p.i = save;
        }
        match p.text_or_action()? {
            Parsed::Node(n) => root.push(n),
            Parsed::Stop(s) => return Err(p.err(format!("unexpected {}", s.describe()))),
        }
    }
    p.add(Tree { name: name.to_owned(), parse_name: name.to_owned(), root })?;
    Ok(p.defs)
}

impl Parser<'_> {
    fn err(&self, msg: impl Into<String>) -> Error {
        Error {
            kind: ErrorKind::Parse,
            msg: format!("template: {}:{}: {}", self.parse_name, self.line, msg.into()),
        }
    }

    fn pos_of(&self, offset: usize) -> Pos {
        let before = &self.src[..offset];
        let line = 1 + before.matches('\n').count();
        let col = before.rfind('\n').map_or(offset, |nl| offset - nl - 1);
        Pos { line, col }
    }

    fn next(&mut self) -> Item {
        let it = self.items[self.i.min(self.items.len() - 1)].clone();
        if self.i < self.items.len() {
            self.i += 1;
        }
        self.line = it.line;
        it
    }

    fn backup(&mut self) {
        self.i -= 1;
    }

    fn peek(&mut self) -> Item {
        let it = self.next();
        self.backup();
        it
    }

    fn next_non_space(&mut self) -> Item {
        loop {
            let it = self.next();
            if it.tok != Tok::Space {
                return it;
            }
        }
    }

    fn peek_non_space(&mut self) -> Item {
        let it = self.next_non_space();
        self.backup();
        it
    }

    fn unexpected(&self, it: &Item, context: &str) -> Error {
        if let Tok::Error(e) = &it.tok {
            return self.err(e.clone());
        }
        self.err(format!("unexpected {} in {}", it.describe(), context))
    }

    fn expect_right_delim(&mut self, context: &str) -> PResult<Item> {
        let it = self.next_non_space();
        if it.tok != Tok::RightDelim {
            return Err(self.unexpected(&it, context));
        }
        Ok(it)
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_PARSE_DEPTH {
            return Err(self.err("max expression depth exceeded"));
        }
        Ok(())
    }

    fn add(&mut self, tree: Tree) -> PResult<()> {
        if let Some(old) = self.defs.iter_mut().find(|t| t.name == tree.name) {
            if is_empty_list(&old.root) {
                *old = tree;
            } else if !is_empty_list(&tree.root) {
                return Err(self.err(format!(
                    "template: multiple definition of template {}",
                    crate::printf::quote(&tree.name)
                )));
            }
            return Ok(());
        }
        self.defs.push(tree);
        Ok(())
    }

    fn template_name(&mut self, it: &Item, context: &str) -> PResult<String> {
        match &it.tok {
            Tok::Str(s) | Tok::RawStr(s) => unquote(s).map_err(|e| self.err(e)),
            _ => Err(self.unexpected(it, context)),
        }
    }

    fn parse_definition(&mut self) -> PResult<()> {
        let context = "define clause";
        let it = self.next_non_space();
        let name = self.template_name(&it, context)?;
        self.expect_right_delim(context)?;
        let root = self.sub_tree_list(context)?;
        self.add(Tree { name, parse_name: self.parse_name.to_owned(), root })
    }

    /// Parses the body of a `define` or `block`, which has its own variable scope.
    fn sub_tree_list(&mut self, context: &str) -> PResult<Vec<Node>> {
        let vars = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let range_depth = std::mem::take(&mut self.range_depth);
        let (list, stop) = self.item_list()?;
        self.vars = vars;
        self.range_depth = range_depth;
        if !matches!(stop, Stop::End) {
            return Err(self.err(format!("unexpected {} in {}", stop.describe(), context)));
        }
        Ok(list)
    }

    fn item_list(&mut self) -> PResult<(Vec<Node>, Stop)> {
        let mut list = Vec::new();
        while self.peek_non_space().tok != Tok::Eof {
            match self.text_or_action()? {
                Parsed::Node(n) => list.push(n),
                Parsed::Stop(s) => return Ok((list, s)),
            }
        }
        Err(self.err("unexpected EOF"))
    }

    fn text_or_action(&mut self) -> PResult<Parsed> {
        let it = self.next_non_space();
        match it.tok {
            Tok::Text(t) => Ok(Parsed::Node(Node::Text(t))),
            Tok::LeftDelim => {
                self.enter()?;
                let r = self.action();
                self.depth -= 1;
                r
            }
            _ => Err(self.unexpected(&it, "input")),
        }
    }

    fn action(&mut self) -> PResult<Parsed> {
        let it = self.next_non_space();
        let node = match it.tok {
            Tok::Kw(Kw::Block) => self.block_control()?,
            Tok::Kw(Kw::Break) | Tok::Kw(Kw::Continue) => self.loop_control(&it)?,
            Tok::Kw(Kw::Else) => return self.else_control(),
            Tok::Kw(Kw::End) => {
                self.expect_right_delim("end")?;
                return Ok(Parsed::Stop(Stop::End));
            }
            Tok::Kw(Kw::If) => Node::If(self.control("if")?),
            Tok::Kw(Kw::Range) => Node::Range(self.control("range")?),
            Tok::Kw(Kw::With) => Node::With(self.control("with")?),
            Tok::Kw(Kw::Template) => self.template_control()?,
            _ => {
                self.backup();
                Node::Action(self.pipeline("command", &Tok::RightDelim)?)
            }
        };
        Ok(Parsed::Node(node))
    }

    fn loop_control(&mut self, it: &Item) -> PResult<Node> {
        let word = if it.tok == Tok::Kw(Kw::Break) { "break" } else { "continue" };
        let next = self.next_non_space();
        if next.tok != Tok::RightDelim {
            return Err(self.unexpected(&next, &format!("{{{{{word}}}}}")));
        }
        if self.range_depth == 0 {
            return Err(self.err(format!("{{{{{word}}}}} outside {{{{range}}}}")));
        }
        Ok(if word == "break" { Node::Break } else { Node::Continue })
    }

    fn else_control(&mut self) -> PResult<Parsed> {
        // `{{else if ...}}` leaves the `if` pending so that the enclosing control parses it
        // as a nested if in its else branch. `{{else with ...}}` arrived in Go 1.23; the Go
        // that Alertmanager 0.25 is built with (1.19) rejects it, and so does Klaxon.
        let peek = self.peek_non_space();
        if !matches!(peek.tok, Tok::Kw(Kw::If)) {
            self.expect_right_delim("else")?;
        }
        Ok(Parsed::Stop(Stop::Else))
    }

    fn control(&mut self, context: &str) -> PResult<Branch> {
        let mark = self.vars.len();
        let pipe = self.pipeline(context, &Tok::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let (list, stop) = self.item_list()?;
        if context == "range" {
            self.range_depth -= 1;
        }
        let mut else_list = None;
        if let Stop::Else = stop {
            let kw = self.peek().tok;
            if context == "if" && kw == Tok::Kw(Kw::If) {
                self.next();
                self.enter()?;
                let inner = self.control(context);
                self.depth -= 1;
                else_list = Some(vec![Node::If(inner?)]);
            } else {
                let (l, stop) = self.item_list()?;
                if !matches!(stop, Stop::End) {
                    return Err(self.err(format!("expected end; found {}", stop.describe())));
                }
                else_list = Some(l);
            }
        }
        self.vars.truncate(mark);
        Ok(Branch { pipe, list, else_list })
    }

    fn template_control(&mut self) -> PResult<Node> {
        let context = "template clause";
        let it = self.next_non_space();
        let name = self.template_name(&it, context)?;
        let pipe = if self.next_non_space().tok == Tok::RightDelim {
            None
        } else {
            self.backup();
            Some(self.pipeline(context, &Tok::RightDelim)?)
        };
        Ok(Node::Template(TemplateCall { pos: self.pos_of(it.pos), name, pipe }))
    }

    fn block_control(&mut self) -> PResult<Node> {
        let context = "block clause";
        let it = self.next_non_space();
        let name = self.template_name(&it, context)?;
        let pipe = self.pipeline(context, &Tok::RightDelim)?;
        let root = self.sub_tree_list(context)?;
        self.add(Tree { name: name.clone(), parse_name: self.parse_name.to_owned(), root })?;
        Ok(Node::Template(TemplateCall { pos: self.pos_of(it.pos), name, pipe: Some(pipe) }))
    }

    fn pipeline(&mut self, context: &str, end: &Tok) -> PResult<Pipe> {
        let first = self.peek_non_space();
        let mut pipe = Pipe {
            pos: self.pos_of(first.pos),
            decl: Vec::new(),
            is_assign: false,
            cmds: Vec::new(),
        };
        self.declarations(&mut pipe, context)?;
        loop {
            let it = self.next_non_space();
            if &it.tok == end {
                self.check_pipeline(&pipe, context)?;
                return Ok(pipe);
            }
            match it.tok {
                Tok::Bool(_)
                | Tok::Char(_)
                | Tok::Dot
                | Tok::Field(_)
                | Tok::Ident(_)
                | Tok::Number(_)
                | Tok::Nil
                | Tok::RawStr(_)
                | Tok::Str(_)
                | Tok::Var(_)
                | Tok::LParen => {
                    self.backup();
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                }
                _ => return Err(self.unexpected(&it, context)),
            }
        }
    }

    fn declarations(&mut self, pipe: &mut Pipe, context: &str) -> PResult<()> {
        loop {
            let save = self.i;
            let v = self.next_non_space();
            let Tok::Var(name) = &v.tok else {
                self.i = save;
                return Ok(());
            };
            let next = self.next_non_space();
            match next.tok {
                Tok::Assign | Tok::Declare => {
                    pipe.is_assign = next.tok == Tok::Assign;
                    pipe.decl.push(name.clone());
                    self.vars.push(name.clone());
                    return Ok(());
                }
                Tok::Comma => {
                    pipe.decl.push(name.clone());
                    self.vars.push(name.clone());
                    if context == "range" && pipe.decl.len() < 2 {
                        let peek = self.peek_non_space();
                        if matches!(peek.tok, Tok::Var(_) | Tok::RightDelim | Tok::RParen) {
                            continue;
                        }
                        return Err(self.err("range can only initialize variables"));
                    }
                    return Err(self.err(format!("too many declarations in {context}")));
                }
                _ => {
                    self.i = save;
                    return Ok(());
                }
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str) -> PResult<()> {
        if pipe.cmds.is_empty() {
            return Err(self.err(format!("missing value for {context}")));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if matches!(
                c.args[0],
                Arg::Bool(..) | Arg::Dot(_) | Arg::Nil(_) | Arg::Number(..) | Arg::Str(..)
            ) {
                return Err(self.err(format!("non executable command in pipeline stage {}", i + 1)));
            }
        }
        Ok(())
    }

    fn command(&mut self) -> PResult<Command> {
        let first = self.peek_non_space();
        let mut cmd = Command { pos: self.pos_of(first.pos), args: Vec::new() };
        loop {
            self.peek_non_space();
            if let Some(op) = self.operand()? {
                cmd.args.push(op);
            }
            let it = self.next();
            match it.tok {
                Tok::Space => continue,
                Tok::RightDelim | Tok::RParen => self.backup(),
                Tok::Pipe => {}
                _ => return Err(self.unexpected(&it, "operand")),
            }
            break;
        }
        if cmd.args.is_empty() {
            return Err(self.err("empty command"));
        }
        Ok(cmd)
    }

    fn operand(&mut self) -> PResult<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        let mut fields = Vec::new();
        let chain_pos = self.peek().pos;
        while let Tok::Field(f) = self.peek().tok {
            self.next();
            fields.push(f[1..].to_owned());
        }
        if fields.is_empty() {
            return Ok(Some(node));
        }
        Ok(Some(match node {
            // Go positions a chained field or variable at its first chained field.
            Arg::Field(_, mut names) => {
                names.extend(fields);
                Arg::Field(self.pos_of(chain_pos), names)
            }
            Arg::Variable(_, v, mut names) => {
                names.extend(fields);
                Arg::Variable(self.pos_of(chain_pos), v, names)
            }
            Arg::Bool(..) | Arg::Str(..) | Arg::Number(..) | Arg::Nil(_) | Arg::Dot(_) => {
                return Err(self.err(format!(
                    "unexpected . after term {}",
                    crate::printf::quote(&node.to_string())
                )));
            }
            other => Arg::Chain(self.pos_of(chain_pos), Box::new(other), fields),
        }))
    }

    fn term(&mut self) -> PResult<Option<Arg>> {
        let it = self.next_non_space();
        let pos = self.pos_of(it.pos.min(self.src.len()));
        Ok(Some(match it.tok {
            Tok::Ident(name) => {
                if !(self.has_func)(&name) {
                    return Err(
                        self.err(format!("function {} not defined", crate::printf::quote(&name)))
                    );
                }
                Arg::Ident(pos, name)
            }
            Tok::Dot => Arg::Dot(pos),
            Tok::Nil => Arg::Nil(pos),
            Tok::Var(name) => {
                if !self.vars.contains(&name) {
                    return Err(
                        self.err(format!("undefined variable {}", crate::printf::quote(&name)))
                    );
                }
                Arg::Variable(pos, name, Vec::new())
            }
            Tok::Field(f) => Arg::Field(pos, vec![f[1..].to_owned()]),
            Tok::Bool(b) => Arg::Bool(pos, b),
            Tok::Char(text) => {
                let c = unquote_char(&text).map_err(|e| self.err(e))?;
                Arg::Number(pos, text, crate::ast::Number::Int(i64::from(u32::from(c))))
            }
            Tok::Number(text) => {
                let n = parse_number(&text).map_err(|e| self.err(e))?;
                Arg::Number(pos, text, n)
            }
            Tok::LParen => {
                self.enter()?;
                let p = self.pipeline("parenthesized pipeline", &Tok::RParen);
                self.depth -= 1;
                Arg::Pipe(Box::new(p?))
            }
            Tok::Str(text) | Tok::RawStr(text) => {
                let s = unquote(&text).map_err(|e| self.err(e))?;
                Arg::Str(pos, text, s)
            }
            Tok::Error(e) => return Err(self.err(e)),
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }
}
