//! An f64 interpreter of the expressions models are written in (the WGSL subset scenario
//! files use: arithmetic, comparisons, `&&`/`||`, `select`, `pow`, `exp`, `max`...), so a
//! whole model — reactions, defines, variable diffusion, taxis, drift — can be evaluated on
//! the CPU in double precision. It is the f64 reference the GPU is checked against
//! (`engine::reference`); it shares nothing with the WGSL path but the expression text.

use super::Model;

/// A parsed expression: a tree over slots (x, y, t, species, params, defines).
#[derive(Debug, Clone)]
enum Node {
    Num(f64),
    Bool(bool),
    Slot(usize),
    Neg(Box<Node>),
    Not(Box<Node>),
    Bin(Op, Box<Node>, Box<Node>),
    Call(Func, Vec<Node>),
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    And,
    Or,
}

#[derive(Debug, Clone, Copy)]
enum Func {
    Select,
    Max,
    Min,
    Clamp,
    Pow,
    Exp,
    Log,
    Sqrt,
    Abs,
    Fract,
    Floor,
    Ceil,
    Sin,
    Cos,
    Tanh,
    Sign,
    Step,
    Smoothstep,
    Mix,
    Identity,
}

impl Func {
    fn parse(name: &str) -> Option<(Func, usize)> {
        Some(match name {
            "select" => (Func::Select, 3),
            "max" => (Func::Max, 2),
            "min" => (Func::Min, 2),
            "clamp" => (Func::Clamp, 3),
            "pow" => (Func::Pow, 2),
            "exp" => (Func::Exp, 1),
            "log" => (Func::Log, 1),
            "sqrt" => (Func::Sqrt, 1),
            "abs" => (Func::Abs, 1),
            "fract" => (Func::Fract, 1),
            "floor" => (Func::Floor, 1),
            "ceil" => (Func::Ceil, 1),
            "sin" => (Func::Sin, 1),
            "cos" => (Func::Cos, 1),
            "tanh" => (Func::Tanh, 1),
            "sign" => (Func::Sign, 1),
            "step" => (Func::Step, 2),
            "smoothstep" => (Func::Smoothstep, 3),
            "mix" => (Func::Mix, 3),
            "f32" => (Func::Identity, 1),
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy)]
enum Val {
    F(f64),
    B(bool),
}

impl Val {
    fn f(self) -> f64 {
        match self {
            Val::F(v) => v,
            Val::B(b) => f64::from(u8::from(b)),
        }
    }
    fn b(self) -> bool {
        match self {
            Val::B(b) => b,
            Val::F(v) => v != 0.0,
        }
    }
}

impl Node {
    fn eval(&self, env: &[f64]) -> Val {
        match self {
            Node::Num(v) => Val::F(*v),
            Node::Bool(b) => Val::B(*b),
            Node::Slot(i) => Val::F(env[*i]),
            Node::Neg(a) => Val::F(-a.eval(env).f()),
            Node::Not(a) => Val::B(!a.eval(env).b()),
            Node::Bin(op, a, b) => {
                // Both sides are evaluated, as WGSL does for && and || on plain values.
                let (a, b) = (a.eval(env), b.eval(env));
                match op {
                    Op::Add => Val::F(a.f() + b.f()),
                    Op::Sub => Val::F(a.f() - b.f()),
                    Op::Mul => Val::F(a.f() * b.f()),
                    Op::Div => Val::F(a.f() / b.f()),
                    Op::Lt => Val::B(a.f() < b.f()),
                    Op::Le => Val::B(a.f() <= b.f()),
                    Op::Gt => Val::B(a.f() > b.f()),
                    Op::Ge => Val::B(a.f() >= b.f()),
                    Op::Eq => Val::B(a.f() == b.f()),
                    Op::Ne => Val::B(a.f() != b.f()),
                    Op::And => Val::B(a.b() && b.b()),
                    Op::Or => Val::B(a.b() || b.b()),
                }
            }
            Node::Call(func, args) => {
                let v = |k: usize| args[k].eval(env).f();
                Val::F(match func {
                    // WGSL: select(if_false, if_true, condition).
                    Func::Select => {
                        if args[2].eval(env).b() {
                            v(1)
                        } else {
                            v(0)
                        }
                    }
                    Func::Max => v(0).max(v(1)),
                    Func::Min => v(0).min(v(1)),
                    Func::Clamp => v(0).max(v(1)).min(v(2)),
                    Func::Pow => v(0).powf(v(1)),
                    Func::Exp => v(0).exp(),
                    Func::Log => v(0).ln(),
                    Func::Sqrt => v(0).sqrt(),
                    Func::Abs => v(0).abs(),
                    Func::Fract => v(0) - v(0).floor(),
                    Func::Floor => v(0).floor(),
                    Func::Ceil => v(0).ceil(),
                    Func::Sin => v(0).sin(),
                    Func::Cos => v(0).cos(),
                    Func::Tanh => v(0).tanh(),
                    Func::Sign => {
                        let a = v(0);
                        if a > 0.0 {
                            1.0
                        } else if a < 0.0 {
                            -1.0
                        } else {
                            0.0
                        }
                    }
                    Func::Step => f64::from(u8::from(v(1) >= v(0))),
                    Func::Smoothstep => {
                        let u = ((v(2) - v(0)) / (v(1) - v(0))).clamp(0.0, 1.0);
                        u * u * (3.0 - 2.0 * u)
                    }
                    Func::Mix => v(0) + (v(1) - v(0)) * v(2),
                    Func::Identity => v(0),
                })
            }
        }
    }
}

/// Recursive-descent parser over the expression text; names resolve to slots.
struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    names: &'a dyn Fn(&str) -> Option<usize>,
}

type Parsed = Result<Node, String>;

impl Parser<'_> {
    fn skip(&mut self) {
        while self.pos < self.s.len() && self.s[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }
    fn eat(&mut self, tok: &str) -> bool {
        self.skip();
        if self.s[self.pos..].starts_with(tok.as_bytes()) {
            // `<` must not eat the first half of `<=` (callers try the longer first).
            self.pos += tok.len();
            true
        } else {
            false
        }
    }
    fn or(&mut self) -> Parsed {
        let mut a = self.and()?;
        while self.eat("||") {
            a = Node::Bin(Op::Or, a.into(), self.and()?.into());
        }
        Ok(a)
    }
    fn and(&mut self) -> Parsed {
        let mut a = self.cmp()?;
        while self.eat("&&") {
            a = Node::Bin(Op::And, a.into(), self.cmp()?.into());
        }
        Ok(a)
    }
    fn cmp(&mut self) -> Parsed {
        let a = self.add()?;
        for (tok, op) in [
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("==", Op::Eq),
            ("!=", Op::Ne),
            ("<", Op::Lt),
            (">", Op::Gt),
        ] {
            if self.eat(tok) {
                return Ok(Node::Bin(op, a.into(), self.add()?.into()));
            }
        }
        Ok(a)
    }
    fn add(&mut self) -> Parsed {
        let mut a = self.mul()?;
        loop {
            if self.eat("+") {
                a = Node::Bin(Op::Add, a.into(), self.mul()?.into());
            } else if self.eat("-") {
                a = Node::Bin(Op::Sub, a.into(), self.mul()?.into());
            } else {
                return Ok(a);
            }
        }
    }
    fn mul(&mut self) -> Parsed {
        let mut a = self.unary()?;
        loop {
            if self.eat("*") {
                a = Node::Bin(Op::Mul, a.into(), self.unary()?.into());
            } else if self.eat("/") {
                a = Node::Bin(Op::Div, a.into(), self.unary()?.into());
            } else {
                return Ok(a);
            }
        }
    }
    fn unary(&mut self) -> Parsed {
        if self.eat("-") {
            return Ok(Node::Neg(self.unary()?.into()));
        }
        if self.eat("!") {
            return Ok(Node::Not(self.unary()?.into()));
        }
        self.primary()
    }
    fn primary(&mut self) -> Parsed {
        self.skip();
        if self.eat("(") {
            let e = self.or()?;
            return if self.eat(")") {
                Ok(e)
            } else {
                Err(format!("missing `)` at byte {}", self.pos))
            };
        }
        let start = self.pos;
        let c = *self.s.get(self.pos).ok_or("unexpected end")?;
        if c.is_ascii_digit() || c == b'.' {
            while self.pos < self.s.len() {
                let ch = self.s[self.pos];
                let exp_sign =
                    (ch == b'-' || ch == b'+') && matches!(self.s[self.pos - 1], b'e' | b'E');
                if ch.is_ascii_digit() || ch == b'.' || ch == b'e' || ch == b'E' || exp_sign {
                    self.pos += 1;
                } else {
                    break;
                }
            }
            let text = std::str::from_utf8(&self.s[start..self.pos]).unwrap_or("");
            // WGSL suffixes (1.0f, 3u, 2i) carry no value.
            if self.pos < self.s.len() && matches!(self.s[self.pos], b'f' | b'u' | b'i') {
                self.pos += 1;
            }
            return text
                .parse()
                .map(Node::Num)
                .map_err(|_| format!("bad number `{text}`"));
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            while self.pos < self.s.len()
                && (self.s[self.pos].is_ascii_alphanumeric() || self.s[self.pos] == b'_')
            {
                self.pos += 1;
            }
            let name = std::str::from_utf8(&self.s[start..self.pos]).unwrap_or("");
            if self.eat("(") {
                let (func, n) =
                    Func::parse(name).ok_or(format!("function `{name}` is not supported"))?;
                let mut args = vec![self.or()?];
                while self.eat(",") {
                    args.push(self.or()?);
                }
                if !self.eat(")") || args.len() != n {
                    return Err(format!("`{name}` takes {n} arguments"));
                }
                return Ok(Node::Call(func, args));
            }
            return match name {
                "true" => Ok(Node::Bool(true)),
                "false" => Ok(Node::Bool(false)),
                _ => (self.names)(name)
                    .map(Node::Slot)
                    .ok_or(format!("unknown name `{name}`")),
            };
        }
        Err(format!("unexpected `{}` at byte {}", c as char, self.pos))
    }
}

fn parse(source: &str, names: &dyn Fn(&str) -> Option<usize>) -> Parsed {
    let mut p = Parser {
        s: source.as_bytes(),
        pos: 0,
        names,
    };
    let e = p.or()?;
    p.skip();
    if p.pos != p.s.len() {
        return Err(format!("unexpected text at byte {}", p.pos));
    }
    Ok(e)
}

/// A model's right-hand side in f64: reactions, variable diffusion, taxis and drift, with
/// the parameters fixed. Slots: x, y, t, then species, params, defines (in dependency order).
pub struct ModelF64 {
    n_species: usize,
    n_params: usize,
    env: std::cell::RefCell<Vec<f64>>,
    defines: Vec<Node>,
    reactions: Vec<Option<Node>>,
    diffusion: Vec<Option<Node>>,
    constant_d: Vec<f64>,
    taxis: Vec<Vec<(usize, Node)>>,
    velocity: Vec<Option<[Node; 2]>>,
}

impl ModelF64 {
    /// Parses every expression of `model` with `params` (in model order). An error names the
    /// expression and what the interpreter does not support.
    pub fn new(model: &Model, params: &[f64]) -> Result<Self, String> {
        let ns = model.species.len();
        let np = model.params.len();
        let names = |n: &str| -> Option<usize> {
            match n {
                "x" => Some(0),
                "y" => Some(1),
                "t" => Some(2),
                _ => model
                    .species
                    .iter()
                    .position(|s| s.name == n)
                    .map(|i| 3 + i)
                    .or_else(|| {
                        model
                            .params
                            .iter()
                            .position(|p| p.name == n)
                            .map(|i| 3 + ns + i)
                    })
                    .or_else(|| model.define_index(n).map(|i| 3 + ns + np + i)),
            }
        };
        let p = |e: &super::Expr| {
            parse(&e.source, &names).map_err(|m| format!("{}: `{}`: {m}", e.at, e.source))
        };
        let mut env = vec![0.0; 3 + ns + np + model.defines.len()];
        env[3 + ns..3 + ns + np].copy_from_slice(params);
        let species = |name: &str| model.species.iter().position(|s| s.name == name);
        Ok(ModelF64 {
            n_species: ns,
            n_params: np,
            env: env.into(),
            defines: model
                .defines
                .iter()
                .map(|d| p(&d.expr))
                .collect::<Result<_, _>>()?,
            reactions: model
                .species
                .iter()
                .map(|s| s.reaction.as_ref().map(p).transpose())
                .collect::<Result<_, _>>()?,
            diffusion: model
                .species
                .iter()
                .map(|s| s.diffusion_expr.as_ref().map(p).transpose())
                .collect::<Result<_, _>>()?,
            constant_d: model.species.iter().map(|s| s.diffusion).collect(),
            taxis: model
                .species
                .iter()
                .map(|s| {
                    s.taxis
                        .iter()
                        .map(|tx| {
                            let up = species(&tx.up).ok_or(format!("taxis up `{}`", tx.up))?;
                            Ok((up, p(&tx.chi)?))
                        })
                        .collect::<Result<_, String>>()
                })
                .collect::<Result<_, _>>()?,
            velocity: model
                .species
                .iter()
                .map(|s| {
                    s.velocity
                        .as_ref()
                        .map(|[vx, vy]| Ok::<_, String>([p(vx)?, p(vy)?]))
                        .transpose()
                })
                .collect::<Result<_, _>>()?,
        })
    }

    /// Fills the environment for one cell: position, time, species, then every define.
    fn at(&self, x: f64, y: f64, t: f64, c: &[f64]) -> std::cell::RefMut<'_, Vec<f64>> {
        let mut env = self.env.borrow_mut();
        env[0] = x;
        env[1] = y;
        env[2] = t;
        env[3..3 + self.n_species].copy_from_slice(c);
        let first = 3 + self.n_species + self.n_params;
        for (k, d) in self.defines.iter().enumerate() {
            let v = d.eval(&env).f();
            env[first + k] = v;
        }
        env
    }

    /// Reaction rates of every species at a cell (0 where a species has none).
    pub fn react(&self, x: f64, y: f64, t: f64, c: &[f64], out: &mut [f64]) {
        let env = self.at(x, y, t, c);
        for (o, r) in out.iter_mut().zip(&self.reactions) {
            *o = r.as_ref().map_or(0.0, |r| r.eval(&env).f());
        }
    }

    /// Species `s`'s diffusivity at a cell centre (mm²/h).
    pub fn diffusion(&self, s: usize, x: f64, y: f64, t: f64, c: &[f64]) -> f64 {
        match &self.diffusion[s] {
            Some(d) => d.eval(&self.at(x, y, t, c)).f(),
            None => self.constant_d[s],
        }
    }

    /// Species `s`'s drift velocity and taxis terms (attractant, χ) at a cell centre.
    pub fn advection(
        &self,
        s: usize,
        x: f64,
        y: f64,
        t: f64,
        c: &[f64],
    ) -> ([f64; 2], Vec<(usize, f64)>) {
        if self.velocity[s].is_none() && self.taxis[s].is_empty() {
            return ([0.0; 2], vec![]);
        }
        let env = self.at(x, y, t, c);
        let v = self.velocity[s]
            .as_ref()
            .map_or([0.0; 2], |[vx, vy]| [vx.eval(&env).f(), vy.eval(&env).f()]);
        let taxis = self.taxis[s]
            .iter()
            .map(|(up, chi)| (*up, chi.eval(&env).f()))
            .collect();
        (v, taxis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(src: &str, vars: &[(&str, f64)]) -> f64 {
        let names = |n: &str| vars.iter().position(|(v, _)| *v == n);
        let env: Vec<f64> = vars.iter().map(|(_, v)| *v).collect();
        parse(src, &names).unwrap().eval(&env).f()
    }

    #[test]
    fn wgsl_precedence_and_functions() {
        let v = [("a", 2.0), ("b", 3.0)];
        assert_eq!(eval("a + b * 2.0 - -1.0", &v), 9.0);
        assert_eq!(eval("a / b / 2.0", &v), 2.0 / 3.0 / 2.0);
        assert_eq!(eval("select(1.0, 5.0, a < b && b <= 3.0)", &v), 5.0);
        assert_eq!(eval("select(1.0, 5.0, a >= b || !(a == 2.0))", &v), 1.0);
        assert_eq!(eval("pow(a, b) + max(a, b) * min(a, 1e-1)", &v), 8.3);
        assert_eq!(eval("fract(-0.25) + abs(-a) + sqrt(4.0f)", &v), 4.75);
        assert!((eval("exp(-t / 2.5e1)", &[("t", 25.0)]) - (-1f64).exp()).abs() < 1e-15);
        assert_eq!(
            eval("smoothstep(0.0, 2.0, 1.0) + clamp(a, 0.0, 1.5)", &v),
            2.0
        );
    }

    #[test]
    fn unknown_names_and_functions_are_named() {
        let none = |_: &str| None;
        assert_eq!(parse("q + 1.0", &none).unwrap_err(), "unknown name `q`");
        assert_eq!(
            parse("atan2(1.0, 2.0)", &none).unwrap_err(),
            "function `atan2` is not supported"
        );
        assert_eq!(
            parse("max(1.0)", &none).unwrap_err(),
            "`max` takes 2 arguments"
        );
    }
}
