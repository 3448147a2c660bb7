"""CausalGraph: formats (JSON, YAML edge lists, DOT), validation against the roles, plots."""

from __future__ import annotations

import pytest

from faircausesyn import CausalGraph, CausalSpec
from faircausesyn.errors import GraphError
from faircausesyn.graph_dot import parse_dot, quote

SPEC = CausalSpec(
    sensitive="sex", x0=0, x1=1, outcome="death", confounders=["age", "region"], mediators=["smoking", "bmi", "bp"], other=["follow up"]
)
FORMATS = ["json", "yaml", "yml", "dot", "gv"]


def _sfm(structure: str = "chain") -> CausalGraph:
    return CausalGraph.sfm(SPEC, mediator_structure=structure)  # type: ignore[arg-type]


# ------------------------------------------------------------------ formats
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("structure", ["chain", "independent"])
def test_sfm_round_trips_through_every_format(tmp_path, fmt, structure):
    g = _sfm(structure)
    path = tmp_path / f"g.{fmt}"
    g.save(path, spec=SPEC)
    back = CausalGraph.from_file(path)
    assert back == g
    assert back.nodes == g.nodes and back.edges == g.edges  # order kept too
    assert not back.problems(SPEC)


@pytest.mark.parametrize("fmt", FORMATS)
def test_user_graph_with_awkward_names_round_trips(tmp_path, fmt):
    names = ['x "quoted"', "back\\slash", "naïve é", "a b", "123", "digraph", "node"]
    g = CausalGraph(names, [(names[i], names[j]) for i in range(len(names)) for j in range(i + 1, len(names)) if (i + j) % 3])
    path = tmp_path / f"u.{fmt}"
    g.save(path)
    back = CausalGraph.from_file(path)
    assert back.nodes == g.nodes and back.edges == g.edges


def test_save_without_known_suffix_writes_json(tmp_path):
    g = _sfm()
    g.save(tmp_path / "graph.txt")
    assert (tmp_path / "graph.txt").read_text().lstrip().startswith("{")
    assert CausalGraph.from_file(tmp_path / "graph.txt") == g


def test_yaml_accepts_pairs_arrows_and_adjacency(tmp_path):
    (tmp_path / "a.yaml").write_text("edges:\n  - [age, sex]\n  - sex -> smoking -> death\n")
    (tmp_path / "b.yml").write_text("edges:\n  age: [sex]\n  sex: [smoking]\n  smoking: death\n")
    (tmp_path / "c.yaml").write_text("- age -> sex\n- [sex, smoking]\n- smoking -> death\n")
    want = {("age", "sex"), ("sex", "smoking"), ("smoking", "death")}
    for name in ("a.yaml", "b.yml", "c.yaml"):
        assert set(CausalGraph.from_file(tmp_path / name).edges) == want, name


def test_malformed_inputs_list_every_problem(tmp_path):
    with pytest.raises(GraphError) as exc:
        CausalGraph.from_dict({"edges": [["a"], "b", ["c", "d"], 5]})
    assert len(exc.value.problems) == 3
    (tmp_path / "bad.yaml").write_text("edges: [a, [b\n")
    with pytest.raises(GraphError, match="bad.yaml: not valid YAML"):
        CausalGraph.from_file(tmp_path / "bad.yaml")
    (tmp_path / "bad.json").write_text("{nope")
    with pytest.raises(GraphError, match="not valid JSON"):
        CausalGraph.from_file(tmp_path / "bad.json")
    with pytest.raises(GraphError, match="does not exist"):
        CausalGraph.from_file(tmp_path / "missing.dot")


def test_dot_subset_parser():
    text = """
    strict digraph "my graph" {  // a comment
      rankdir=LR; node [shape=box, label="x"];
      # a preprocessor-style comment
      age -> sex -> "smoking" [color=red];
      /* block
         comment */
      sex -> {bmi; bp}
      subgraph cluster_w { bmi -> bp }
      "follow up":n -> death:s;
      lonely;
    }
    """
    nodes, edges = parse_dot(text)
    assert nodes == ["age", "sex", "smoking", "bmi", "bp", "follow up", "death", "lonely"]
    assert edges == [("age", "sex"), ("sex", "smoking"), ("sex", "bmi"), ("sex", "bp"), ("bmi", "bp"), ("follow up", "death")]


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("graph { a -- b }", "must be a 'digraph'"),
        ("digraph { a -- b }", "undirected edge"),
        ("digraph { a -> ; }", "edge without a target"),
        ("digraph { a -> b ", "expected '}'"),
        ("digraph { a -> b } extra", "text after"),
        ("", "empty"),
        ("digraph { a -> b; c ! d }", "unexpected character"),
    ],
)
def test_dot_errors_are_graph_errors(text, fragment):
    with pytest.raises(GraphError, match=fragment):
        parse_dot(text)


def test_dot_output_carries_roles():
    text = _sfm().to_dot(spec=SPEC)
    assert 'role="sensitive"' in text and 'role="outcome"' in text and "fillcolor" in text
    assert quote('a"b') == '"a\\"b"'


# --------------------------------------------------------------- validation
def test_valid_sfm_has_no_problems():
    assert _sfm().problems(SPEC) == []
    _sfm().validate(SPEC)


def test_every_problem_is_reported_at_once():
    edges = [
        ("age", "sex"), ("region", "sex"),
        ("sex", "smoking"), ("smoking", "bmi"), ("bmi", "smoking"),  # cycle within W
        ("death", "bp"),  # out of Y
        ("bp", "sex"),  # into X from a mediator
        ("sex", "region"),  # confounder downstream of X
        ("smoking", "death"), ("ghost", "death"),  # unknown column
    ]
    g = CausalGraph(["sex", "age", "region", "smoking", "bmi", "bp", "death", "ghost"], edges)
    problems = g.problems(SPEC)
    text = "\n".join(problems)
    assert "cycle: smoking -> bmi -> smoking" in text
    assert "'ghost' is not a column" in text
    assert "'follow up' (other) is missing" in text
    assert "edge bp -> sex points into the sensitive attribute from a mediator" in text
    assert "edge death -> bp leaves the outcome" in text
    assert "edge sex -> region makes confounder 'region' downstream of X" in text
    assert "edge ghost -> death" not in text  # unknown nodes are reported once, as unknown
    with pytest.raises(GraphError) as exc:
        g.validate(SPEC)
    assert exc.value.problems == problems
    assert f"has {len(problems)} problems" in str(exc.value)
    assert problems == g.problems(SPEC)  # a stable order


def test_unreachable_mediator_and_several_cycles():
    g = CausalGraph(SPEC.columns, [("age", "sex"), ("sex", "smoking"), ("bmi", "bp"), ("bp", "bmi"), ("smoking", "death"), ("death", "smoking")])
    problems = g.problems(SPEC)
    cycles = [p for p in problems if "cycle" in p]
    assert len(cycles) == 2
    assert any("mediator 'bmi' is not reachable from 'sex'" in p for p in problems)
    assert any("mediator 'bp' is not reachable" in p for p in problems)


def test_columns_restrict_the_check():
    g = CausalGraph.sfm(SPEC, columns=["sex", "age", "smoking", "death"])
    assert g.problems(SPEC, columns=["sex", "age", "smoking", "death"]) == []
    assert any("missing from the graph" in p for p in g.problems(SPEC))


def test_compare_counts_missing_extra_and_reversed_edges():
    truth = CausalGraph(["a", "b", "c", "d"], [("a", "b"), ("b", "c"), ("c", "d")])
    found = CausalGraph(["a", "b", "c", "d"], [("a", "b"), ("c", "b"), ("a", "d")])
    c = found.compare(truth)
    assert c["adjacency_recall"] == 2 / 3 and c["adjacency_precision"] == 2 / 3
    assert c["orientation_recall"] == 1 / 3 and c["reversed"] == 1
    assert c["missing"] == [["c", "d"]] and c["extra"] == [["a", "d"]] and c["shd"] == 3
    assert truth.compare(truth)["shd"] == 0


# -------------------------------------------------------------------- plots
def test_layers_follow_the_roles():
    layers = _sfm().layers(SPEC)
    assert layers == [["sex", "age", "region"], ["smoking", "bmi", "bp"], ["death"], ["follow up"]]
    assert _sfm().layers()[0] == ["age", "region"]  # without a spec: topological generations


@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG"), (".svg", b"<?xml"), (".pdf", b"%PDF")])
def test_plot_writes_a_figure(tmp_path, suffix, magic):
    import matplotlib

    matplotlib.use("Agg")
    path = tmp_path / f"graph{suffix}"
    fig = _sfm().plot(path, spec=SPEC)
    assert path.read_bytes().startswith(magic)
    labels = {t.get_text() for t in fig.axes[0].texts}
    assert {"sex", "death", "follow up"} <= labels
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["X (sensitive)", "Z (confounder)", "W (mediator)", "Y (outcome)", "other"]
    assert not list(tmp_path.glob(".*tmp"))  # written atomically, nothing left behind


# ------------------------------------------------------------ properties
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_names = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"), min_size=1, max_size=12)


@st.composite
def _graphs(draw):
    nodes = draw(st.lists(_names, min_size=1, max_size=8, unique=True))
    pairs = [(a, b) for i, a in enumerate(nodes) for b in nodes[i + 1 :]]
    edges = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=len(pairs))) if pairs else []
    return CausalGraph(nodes, edges)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(g=_graphs())
def test_any_graph_round_trips_through_every_text_format(g):
    assert CausalGraph.from_json(g.to_json()).edges == g.edges
    y = CausalGraph.from_yaml(g.to_yaml())
    assert y.nodes == g.nodes and y.edges == g.edges
    d = CausalGraph.from_dot(g.to_dot())
    assert d.nodes == g.nodes and d.edges == g.edges
