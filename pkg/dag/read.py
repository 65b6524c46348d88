# Reads an Airflow DAG file (on stdin) with the standard ast module, without
# running it, and prints on stdout, as JSON, what pkg/dag evaluates: the
# names bound in the file, the DAGs, task groups and KubernetesPodOperator
# calls, each expression as a small tree with its position. It imports
# nothing but ast, json and sys, and never calls exec, eval or compile on
# the file's contents beyond ast.parse.
import ast
import json
import sys

KPO = "KubernetesPodOperator"
BLOCKS = ("body", "orelse", "finalbody")


def pos(n):
    return [n.lineno, n.col_offset, getattr(n, "end_lineno", n.lineno) or n.lineno,
            getattr(n, "end_col_offset", n.col_offset) or n.col_offset]


def dotted(n):
    parts = []
    while isinstance(n, ast.Attribute):
        parts.append(n.attr)
        n = n.value
    if isinstance(n, ast.Name):
        parts.append(n.id)
        return ".".join(reversed(parts))
    return None


class Reader(object):
    def __init__(self, lines):
        self.lines = lines
        self.imports = {}
        self.binds = []
        self.scopes = [-1]
        self.dags = []
        self.groups = []
        self.tasks = []
        self.kpo_names = [KPO.encode()]

    # mentions says whether a statement's lines name the operator at all.
    def mentions(self, n):
        end = getattr(n, "end_lineno", None) or len(self.lines)
        seg = b"\n".join(self.lines[n.lineno - 1:end])
        return any(k in seg for k in self.kpo_names)

    # kwpos is the position of name=value; Python 3.8 gives only the value's.
    def kwpos(self, k):
        if hasattr(k, "lineno"):
            return pos(k)
        p = pos(k.value)
        if k.arg and 0 < p[0] <= len(self.lines):
            before = self.lines[p[0] - 1][:p[1]]
            i = before.rfind(k.arg.encode())
            if i >= 0 and before[i + len(k.arg):].strip() == b"=":
                p[1] = i
        return p

    # What a callee is: "kpo", "dag", "group" or None.
    def kind(self, func):
        name = dotted(func)
        if name is None:
            return None
        first, _, rest = name.partition(".")
        full = self.imports.get(first, first) + ("." + rest if rest else "")
        last = full.rsplit(".", 1)[-1]
        if last == KPO:
            return "kpo"
        if last == "DAG":
            return "dag"
        if last == "TaskGroup":
            return "group"
        if last == "dag" and full != "dag" or name == "dag" and "dag" in self.imports:
            return "dagdeco"
        if last == "task_group" and (full != "task_group" or "task_group" in self.imports):
            return "groupdeco"
        return None

    def ex(self, n):
        p = pos(n)
        if isinstance(n, ast.Constant):
            v = n.value
            if v is None or isinstance(v, (bool, str)) or (isinstance(v, (int, float)) and v == v and abs(v) != float("inf")):
                return {"t": "c", "v": v, "p": p}
            return {"t": "x", "p": p}
        if isinstance(n, ast.UnaryOp) and isinstance(n.op, (ast.USub, ast.UAdd)) and isinstance(n.operand, ast.Constant) \
                and type(n.operand.value) in (int, float):
            v = n.operand.value
            return {"t": "c", "v": -v if isinstance(n.op, ast.USub) else v, "p": p}
        if isinstance(n, ast.Name):
            return {"t": "n", "id": n.id, "p": p}
        if isinstance(n, ast.Attribute):
            return {"t": "a", "v": self.ex(n.value), "a": n.attr, "p": p}
        if isinstance(n, ast.Call):
            return {"t": "call", "fn": dotted(n.func),
                    "args": [self.ex(a) for a in n.args],
                    "kw": [[k.arg, self.ex(k.value), self.kwpos(k)] for k in n.keywords], "p": p}
        if isinstance(n, ast.Dict):
            return {"t": "d", "kv": [[None if k is None else self.ex(k), self.ex(v)] for k, v in zip(n.keys, n.values)], "p": p}
        if isinstance(n, (ast.List, ast.Tuple)):
            return {"t": "l", "e": [self.ex(e) for e in n.elts], "p": p}
        if isinstance(n, ast.Starred):
            return {"t": "star", "v": self.ex(n.value), "p": p}
        if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Add):
            return {"t": "add", "l": self.ex(n.left), "r": self.ex(n.right), "p": p}
        if isinstance(n, ast.JoinedStr):
            return {"t": "f", "e": [self.ex(e) for e in n.values], "p": p}
        if isinstance(n, ast.FormattedValue):
            return {"t": "fv", "v": self.ex(n.value), "conv": n.conversion,
                    "spec": n.format_spec is not None, "p": p}
        if isinstance(n, ast.Subscript):
            s = n.slice
            if type(s).__name__ == "Index":  # Python 3.8
                s = s.value
            return {"t": "sub", "v": self.ex(n.value), "i": self.ex(s), "p": p}
        return {"t": "x", "p": p}

    def bind(self, scope, target, value, line, why):
        if isinstance(target, ast.Name):
            self.binds.append([scope, target.id, line, None if why else self.ex(value), why])
        elif isinstance(target, (ast.Tuple, ast.List)):
            same = isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(target.elts) and not why
            for i, t in enumerate(target.elts):
                self.bind(scope, t, value.elts[i] if same else None, line, why or ("" if same else "unpacked"))
        elif isinstance(target, ast.Starred):
            self.bind(scope, target.value, None, line, why or "unpacked")

    def names_in(self, scope, node, line, why):
        for t in ast.walk(node):
            if isinstance(t, ast.Name) and isinstance(t.ctx, ast.Store):
                self.binds.append([scope, t.id, line, None, why])

    def dag_entry(self, call, name, kind, line):
        e = {"args": [], "kw": [], "name": name, "kind": kind, "line": line}
        if call is not None:
            c = self.ex(call)
            e["args"], e["kw"] = c["args"], c["kw"]
        self.dags.append(e)
        return len(self.dags) - 1

    def group_entry(self, call, name):
        e = {"args": [], "kw": [], "name": name}
        if call is not None:
            c = self.ex(call)
            e["args"], e["kw"] = c["args"], c["kw"]
        self.groups.append(e)
        return len(self.groups) - 1

    def body(self, stmts, scope, ctx, cond):
        for s in stmts:
            self.stmt(s, scope, ctx, cond)

    def stmt(self, s, scope, ctx, cond):
        line = s.lineno
        why = "conditional" if cond else ""
        if isinstance(s, ast.Assign):
            before = len(self.tasks)
            self.scan(s.value, scope, ctx)
            if len(self.tasks) > before:  # a task: its call is read once, as a task
                for t in s.targets:
                    self.names_in(scope, t, line, "task")
                return
            if isinstance(s.value, ast.Call) and self.kind(s.value.func) == "dag":
                i = self.dag_entry(s.value, None, "call", line)
                for t in s.targets:
                    if isinstance(t, ast.Name):
                        self.binds.append([scope, t.id, line, {"t": "dag", "i": i, "p": pos(s.value)}, why])
                return
            for t in s.targets:
                self.bind(scope, t, s.value, line, why)
        elif isinstance(s, ast.AnnAssign):
            if s.value is not None:
                self.scan(s.value, scope, ctx)
                self.bind(scope, s.target, s.value, line, why)
        elif isinstance(s, ast.AugAssign):
            self.scan(s.value, scope, ctx)
            if isinstance(s.target, ast.Name) and isinstance(s.op, ast.Add) and not cond:
                v = {"t": "add", "l": {"t": "n", "id": s.target.id, "p": pos(s.target)}, "r": self.ex(s.value), "p": pos(s)}
                self.binds.append([scope, s.target.id, line, v, ""])
            else:
                self.names_in(scope, s.target, line, why or "computed")
        elif isinstance(s, (ast.With, getattr(ast, "AsyncWith", ast.With))):
            inner = dict(ctx)
            for item in s.items:
                ce = item.context_expr
                self.scan(ce, scope, ctx)
                k = self.kind(ce.func) if isinstance(ce, ast.Call) else None
                var = item.optional_vars
                if k == "dag":
                    i = self.dag_entry(ce, None, "with", line)
                    inner["dag"] = i
                    if isinstance(var, ast.Name):
                        self.binds.append([scope, var.id, line, {"t": "dag", "i": i, "p": pos(ce)}, why])
                elif k == "group":
                    inner["groups"] = ctx.get("groups", []) + [self.group_entry(ce, None)]
                    if var is not None:
                        self.names_in(scope, var, line, "group")
                elif var is not None:
                    self.names_in(scope, var, line, "with")
            self.body(s.body, scope, inner, cond)
        elif isinstance(s, (ast.FunctionDef, getattr(ast, "AsyncFunctionDef", ast.FunctionDef))):
            inner = None
            for d in s.decorator_list:
                call = d if isinstance(d, ast.Call) else None
                k = self.kind(d.func if call else d)
                if k == "dagdeco":
                    inner = dict(ctx)
                    inner["dag"] = self.dag_entry(call, s.name, "decorator", line)
                elif k == "groupdeco":
                    inner = dict(ctx)
                    inner["groups"] = ctx.get("groups", []) + [self.group_entry(call, s.name)]
            self.binds.append([scope, s.name, line, None, "function"])
            if inner is not None:
                self.scopes.append(scope)
                fs = len(self.scopes) - 1
                a = s.args
                for arg in list(getattr(a, "posonlyargs", [])) + a.args + a.kwonlyargs + [x for x in (a.vararg, a.kwarg) if x]:
                    self.binds.append([fs, arg.arg, line, None, "argument"])
                self.body(s.body, fs, inner, False)
        elif isinstance(s, ast.ClassDef):
            self.binds.append([scope, s.name, line, None, "class"])
        elif isinstance(s, (ast.Import, ast.ImportFrom)):
            mod = getattr(s, "module", None) or ""
            for a in s.names:
                if isinstance(s, ast.Import):
                    local = a.asname or a.name.split(".")[0]
                    full = a.name if a.asname else local
                else:
                    local = a.asname or a.name
                    full = (mod + "." if mod else "") + a.name
                if local != "*":
                    self.imports[local] = full
                    if full.rsplit(".", 1)[-1] == KPO and local != KPO:
                        self.kpo_names.append(local.encode())
                    self.binds.append([scope, local, line, None, "import:" + (mod or a.name)])
        elif isinstance(s, (ast.For, getattr(ast, "AsyncFor", ast.For))):
            self.scan(s.iter, scope, ctx)
            self.names_in(scope, s.target, line, "loop")
            inner = ctx
            if isinstance(s, ast.For) and isinstance(s.target, ast.Name):
                # A task made in the loop is one task per item, when the items are known.
                inner = dict(ctx)
                inner["loops"] = ctx.get("loops", []) + [[s.target.id, self.ex(s.iter)]]
            self.body(s.body, scope, inner, True)
            self.body(s.orelse, scope, ctx, True)
        elif isinstance(s, ast.Expr):
            self.scan(s.value, scope, ctx)
        elif isinstance(s, (ast.If, ast.While, ast.Try) + tuple(getattr(ast, n) for n in ("TryStar", "Match") if hasattr(ast, n))):
            for f in ("test", "subject"):
                if hasattr(s, f):
                    self.scan(getattr(s, f), scope, ctx)
            for f in BLOCKS:
                self.body(getattr(s, f, []) or [], scope, ctx, True)
            for h in getattr(s, "handlers", []):
                if h.name:
                    self.binds.append([scope, h.name, line, None, "conditional"])
                self.body(h.body, scope, ctx, True)
            for c in getattr(s, "cases", []):
                self.body(c.body, scope, ctx, True)
        else:
            for n in ast.iter_child_nodes(s):
                if isinstance(n, ast.expr):
                    self.scan(n, scope, ctx)
        for n in ast.walk(s) if isinstance(s, (ast.Assign, ast.Expr, ast.AnnAssign, ast.AugAssign)) else ():
            if type(n).__name__ == "NamedExpr" and isinstance(n.target, ast.Name):
                self.binds.append([scope, n.target.id, line, None, "computed"])

    # scan finds the operator calls in an expression.
    def scan(self, e, scope, ctx):
        if not self.mentions(e):
            return
        stack = [e]
        while stack:
            n = stack.pop()
            if isinstance(n, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
                continue
            if isinstance(n, ast.Call):
                f = n.func
                # KPO.partial(...).expand(...) / .expand_kwargs(...)
                if isinstance(f, ast.Attribute) and f.attr in ("expand", "expand_kwargs") and isinstance(f.value, ast.Call):
                    inner = f.value
                    if isinstance(inner.func, ast.Attribute) and inner.func.attr == "partial" and self.kind(inner.func.value) == "kpo":
                        self.task(inner, scope, ctx, True, n)
                        continue
                elif isinstance(f, ast.Attribute) and f.attr == "partial" and self.kind(f.value) == "kpo":
                    self.task(n, scope, ctx, True, None)
                    continue
                elif self.kind(f) == "kpo":
                    self.task(n, scope, ctx, False, None)
                    continue
            stack.extend(ast.iter_child_nodes(n))

    def task(self, call, scope, ctx, partial, expand):
        c = self.ex(call)
        t = {"scope": scope, "call": c, "partial": partial, "dag": ctx.get("dag"),
             "groups": ctx.get("groups", []), "p": pos(call), "loops": ctx.get("loops", [])}
        if expand is not None:
            e = self.ex(expand)
            t["expand"] = {"how": expand.func.attr, "args": e["args"], "kw": e["kw"],
                           "p": pos(expand.args[0]) if expand.args else pos(expand)}
        self.tasks.append(t)


def dumps(v):
    return json.dumps(v, separators=(",", ":"))


# The answer is one line per item, so that pkg/dag decodes only what the
# task asked for needs: "H" the header, "B" a binding (scope, name, line,
# why, value), "T" a task (what its id and DAG need, then its whole call).
def main():
    src = sys.stdin.buffer.read()
    head = {"version": "%d.%d" % sys.version_info[:2]}
    out = []
    if sys.version_info < (3, 8):
        head["error"] = {"line": 0, "col": 0, "msg": "Python 3.8 or newer is needed to read DAG files; set PODTASK_PYTHON"}
        src = b""
    try:
        if "error" in head:
            raise ValueError("old")
        tree = ast.parse(src, "<dag>")
        r = Reader(src.splitlines())
        r.body(tree.body, 0, {}, False)
        head.update(scopes=r.scopes, dags=r.dags, groups=r.groups, imports=r.imports)
        for b in r.binds:
            out.append("B\t%d\t%s\t%d\t%s\t%s" % (b[0], b[1], b[2], b[4], dumps(b[3])))
        for t in r.tasks:
            kw = t["call"]["kw"]
            meta = {"scope": t["scope"], "dag": t["dag"], "groups": t["groups"], "p": t["p"], "loops": t["loops"],
                    "kw": [k for k in kw if k[0] in ("task_id", "dag") or k[0] is None]}
            out.append("T\t%s\t%s" % (dumps(meta), dumps(t)))
    except SyntaxError as e:
        head["error"] = {"line": e.lineno or 0, "col": e.offset or 0, "msg": e.msg or "invalid syntax"}
    except (ValueError, RecursionError, MemoryError) as e:
        if "error" not in head:
            head["error"] = {"line": 0, "col": 0, "msg": type(e).__name__ + (": " + str(e).splitlines()[0] if str(e) else "")}
    if "error" in head:
        out = []
    sys.stdout.write("H\t" + dumps(head) + "\n" + "".join(line + "\n" for line in out))


main()
