#!/usr/bin/env python3
"""The public API of totp-enroll as a sorted text listing, for review in diffs.

Reads the rustdoc JSON of the library (all features) and prints one line per public item
reachable from the crate root: modules, structs with their public fields, enums with
their variants, traits with their methods, functions, constants, statics, type aliases,
macros, inherent methods (with their signatures) and the traits each type implements.
An item re-exported under several paths is listed under each, so a name exported twice
shows as two lines.

    cargo +nightly rustdoc -p totp-enroll --lib --all-features -- \
        -Z unstable-options --output-format json
    python3 scripts/public_api.py target/doc/totp_enroll.json > api/totp-enroll.txt

`scripts/check_public_api.sh` regenerates the listing and fails if it differs from the
committed `api/totp-enroll.txt` (CI runs it); after an intended change, regenerate and
commit the listing with it.
"""

import json
import sys

SUPPORTED = range(50, 70)  # rustdoc JSON FORMAT_VERSIONs this reader was checked against


def main(path):
    doc = json.load(open(path, encoding="utf-8"))
    if doc["format_version"] not in SUPPORTED:
        sys.exit(f"public_api.py: rustdoc JSON format {doc['format_version']} not supported")
    api = Api(doc)
    api.walk_module(doc["root"], "totp_enroll")
    for _, _, line in sorted(set(api.lines)):
        print(line)


class Api:
    def __init__(self, doc):
        self.index = doc["index"]
        self.lines = []
        self.seen_modules = set()

    def add(self, owner, rank, line):
        self.lines.append((owner, rank, line))

    def item(self, item_id):
        return self.index.get(str(item_id))

    # ------------------------------------------------------------------------- walking

    def walk_module(self, module_id, path):
        if (module_id, path) in self.seen_modules:
            return
        self.seen_modules.add((module_id, path))
        module = self.item(module_id)
        if module is None:
            return
        for child_id in module["inner"]["module"]["items"]:
            child = self.item(child_id)
            if child is None or child["visibility"] != "public":
                continue
            inner = child["inner"]
            if "use" in inner:
                use = inner["use"]
                target = self.item(use["id"]) if use["id"] is not None else None
                if target is None:
                    # A re-export from another crate (e.g. `zeroize::Zeroizing`).
                    self.add(f"{path}::{use['name']}", 0, f"pub use {path}::{use['name']} = {use['source']}")
                    continue
                if use["is_glob"]:
                    self.walk_module(use["id"], path)
                elif "module" in target["inner"]:
                    self.walk_module(use["id"], f"{path}::{use['name']}")
                else:
                    self.describe(target, f"{path}::{use['name']}")
            elif "module" in inner:
                self.add(f"{path}::{child['name']}", 0, f"pub mod {path}::{child['name']}")
                self.walk_module(child_id, f"{path}::{child['name']}")
            else:
                self.describe(child, f"{path}::{child['name']}")

    def describe(self, item, path):
        inner = item["inner"]
        kind = next(iter(inner))
        body = inner[kind]
        if kind == "struct":
            self.add(path, 0, f"pub struct {path}{self.generics(body['generics'])}")
            shape = body["kind"]
            if isinstance(shape, dict) and "plain" in shape:
                for field_id in shape["plain"]["fields"]:
                    field = self.item(field_id)
                    if field and field["visibility"] == "public":
                        self.add(path, 1, f"pub {path}::{field['name']}: {self.ty(field['inner']['struct_field'])}")
                if shape["plain"].get("has_stripped_fields"):
                    self.add(path, 1, f"{path}: private fields")
            elif isinstance(shape, dict) and "tuple" in shape:
                fields = [self.item(f) for f in shape["tuple"]]
                shown = ", ".join(
                    self.ty(f["inner"]["struct_field"]) if f and f["visibility"] == "public" else "_"
                    for f in fields
                )
                self.add(path, 1, f"{path}({shown})")
            self.impls(body["impls"], path)
        elif kind == "enum":
            self.add(path, 0, f"pub enum {path}{self.generics(body['generics'])}")
            for variant_id in body["variants"]:
                variant = self.item(variant_id)
                self.add(path, 1, f"{path}::{variant['name']}{self.variant(variant)}")
            self.impls(body["impls"], path)
        elif kind == "trait":
            self.add(path, 0, f"pub trait {path}{self.generics(body['generics'])}")
            for method_id in body["items"]:
                method = self.item(method_id)
                if method and "function" in method["inner"]:
                    self.add(path, 2, self.function(method, f"{path}::{method['name']}"))
        elif kind == "function":
            self.add(path, 0, f"pub {self.function(item, path)}")
        elif kind == "constant":
            self.add(path, 0, f"pub const {path}: {self.ty(body['type'])}")
        elif kind == "static":
            self.add(path, 0, f"pub static {path}: {self.ty(body['type'])}")
        elif kind == "type_alias":
            self.add(path, 0, f"pub type {path} = {self.ty(body['type'])}")
        elif kind == "macro":
            self.add(path, 0, f"pub macro {path}!")
        else:
            self.add(path, 0, f"pub {kind} {path}")

    def impls(self, impl_ids, path):
        for impl_id in impl_ids:
            impl = self.item(impl_id)
            if impl is None:
                continue
            body = impl["inner"]["impl"]
            if body.get("is_synthetic") or body.get("blanket_impl") is not None:
                continue  # auto traits and blanket impls: not written by this crate
            if body["trait"] is not None:
                negative = "!" if body.get("is_negative") else ""
                trait = self.path_of(body["trait"])
                owner = path.rsplit("::", 1)[-1]
                for_type = self.ty(body["for"]).split("<", 1)[0]
                if trait == "StructuralPartialEq" or for_type != owner:
                    # The marker `derive(PartialEq)` adds; an impl for another type that
                    # rustdoc also lists here (it is listed under that type).
                    continue
                self.add(path, 4, f"impl {negative}{trait} for {path}")
                continue
            for member_id in body["items"]:
                member = self.item(member_id)
                if member is None or member["visibility"] != "public":
                    continue
                if "function" in member["inner"]:
                    self.add(path, 3, "pub " + self.function(member, f"{path}::{member['name']}"))
                elif "assoc_const" in member["inner"]:
                    const = member["inner"]["assoc_const"]
                    self.add(path, 2, f"pub const {path}::{member['name']}: {self.ty(const['type'])}")

    # ------------------------------------------------------------------------- rendering

    def variant(self, variant):
        kind = variant["inner"]["variant"]["kind"]
        if kind == "plain":
            return ""
        if "tuple" in kind:
            fields = [self.item(f) for f in kind["tuple"] if f is not None]
            return "(" + ", ".join(self.ty(f["inner"]["struct_field"]) for f in fields) + ")"
        if "struct" in kind:
            fields = [self.item(f) for f in kind["struct"]["fields"]]
            inner = ", ".join(f"{f['name']}: {self.ty(f['inner']['struct_field'])}" for f in fields)
            return " { " + inner + " }"
        return ""

    def function(self, item, path=None):
        body = item["inner"]["function"]
        header = body["header"]
        prefix = ""
        if header.get("is_const"):
            prefix += "const "
        if header.get("is_async"):
            prefix += "async "
        if header.get("is_unsafe"):
            prefix += "unsafe "
        inputs = []
        for name, ty in body["sig"]["inputs"]:
            rendered = self.ty(ty)
            if name == "self":
                inputs.append({"Self": "self", "&Self": "&self", "&mut Self": "&mut self"}.get(rendered, f"self: {rendered}"))
            else:
                inputs.append(f"{name}: {rendered}")
        output = body["sig"]["output"]
        returns = f" -> {self.ty(output)}" if output is not None else ""
        name = path or item["name"]
        return f"{prefix}fn {name}{self.generics(body['generics'])}({', '.join(inputs)}){returns}{self.where_clause(body['generics'])}"

    def generics(self, generics):
        params = []
        for param in generics["params"]:
            kind = param["kind"]
            if "lifetime" in kind:
                params.append(param["name"])
            elif "type" in kind:
                if kind["type"].get("is_synthetic"):
                    continue  # `impl Trait` in argument position, shown there
                bounds = self.bounds(kind["type"]["bounds"])
                params.append(param["name"] + (f": {bounds}" if bounds else ""))
            elif "const" in kind:
                params.append(f"const {param['name']}: {self.ty(kind['const']['type'])}")
        return f"<{', '.join(params)}>" if params else ""

    def where_clause(self, generics):
        predicates = []
        for predicate in generics["where_predicates"]:
            if "bound_predicate" in predicate:
                bound = predicate["bound_predicate"]
                predicates.append(f"{self.ty(bound['type'])}: {self.bounds(bound['bounds'])}")
        return f" where {', '.join(predicates)}" if predicates else ""

    def bounds(self, bounds):
        out = []
        for bound in bounds:
            if "trait_bound" in bound:
                modifier = "?" if bound["trait_bound"].get("modifier") == "maybe" else ""
                out.append(modifier + self.path_of(bound["trait_bound"]["trait"]))
            elif "outlives" in bound:
                out.append(bound["outlives"])
            else:
                out.append("use<..>")
        return " + ".join(out)

    def path_of(self, path):
        # The last segment: `Arc<KeyRing>`, not `std::sync::Arc<KeyRing>` or
        # `crate::keys::KeyRing` (the source's spelling, which moves with refactorings).
        name = path["path"].rsplit("::", 1)[-1]
        return name + self.args(path.get("args"))

    def args(self, args):
        if not args:
            return ""
        if "angle_bracketed" in args:
            parts = []
            for arg in args["angle_bracketed"]["args"]:
                if "type" in arg:
                    parts.append(self.ty(arg["type"]))
                elif "lifetime" in arg:
                    parts.append(arg["lifetime"])
                elif "const" in arg:
                    parts.append(str(arg["const"].get("expr", "_")))
                else:
                    parts.append("_")
            for constraint in args["angle_bracketed"]["constraints"]:
                binding = constraint.get("binding", {})
                if "equality" in binding:
                    term = binding["equality"]
                    value = self.ty(term["type"]) if "type" in term else str(term)
                    parts.append(f"{constraint['name']} = {value}")
                elif "constraint" in binding:
                    parts.append(f"{constraint['name']}: {self.bounds(binding['constraint'])}")
            return f"<{', '.join(parts)}>" if parts else ""
        if "parenthesized" in args:
            inputs = ", ".join(self.ty(t) for t in args["parenthesized"]["inputs"])
            output = args["parenthesized"]["output"]
            return f"({inputs})" + (f" -> {self.ty(output)}" if output is not None else "")
        return ""

    def ty(self, ty):
        if ty is None:
            return "()"
        if isinstance(ty, str):
            return "_" if ty == "infer" else ty
        kind, body = next(iter(ty.items()))
        if kind == "resolved_path":
            return self.path_of(body)
        if kind == "primitive":
            return body
        if kind == "generic":
            return body
        if kind == "borrowed_ref":
            lifetime = f"{body['lifetime']} " if body.get("lifetime") else ""
            mutable = "mut " if body["is_mutable"] else ""
            return f"&{lifetime}{mutable}{self.ty(body['type'])}"
        if kind == "raw_pointer":
            return f"*{'mut' if body['is_mutable'] else 'const'} {self.ty(body['type'])}"
        if kind == "tuple":
            return "(" + ", ".join(self.ty(t) for t in body) + ("," if len(body) == 1 else "") + ")"
        if kind == "slice":
            return f"[{self.ty(body)}]"
        if kind == "array":
            return f"[{self.ty(body['type'])}; {body['len']}]"
        if kind == "impl_trait":
            return f"impl {self.bounds(body)}"
        if kind == "dyn_trait":
            traits = " + ".join(self.path_of(t["trait"]) for t in body["traits"])
            lifetime = f" + {body['lifetime']}" if body.get("lifetime") else ""
            return f"dyn {traits}{lifetime}"
        if kind == "qualified_path":
            trait = self.path_of(body["trait"]) if body.get("trait") and body["trait"].get("path") else None
            if trait is None:
                return f"{self.ty(body['self_type'])}::{body['name']}"
            return f"<{self.ty(body['self_type'])} as {trait}>::{body['name']}"
        if kind == "function_pointer":
            sig = body["sig"]
            inputs = ", ".join(self.ty(t) for _, t in sig["inputs"])
            output = f" -> {self.ty(sig['output'])}" if sig["output"] is not None else ""
            return f"fn({inputs}){output}"
        if kind == "pat":
            return self.ty(body["type"])
        return kind


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: public_api.py <rustdoc JSON of totp_enroll>")
    main(sys.argv[1])
