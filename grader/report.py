"""`python -m grader report OUT`: what a graded class got right and wrong.

Reads OUT/grades.csv, OUT/exercises.csv (and OUT/problems.csv when present) written by
`python -m grader autograde` and writes OUT/report.md (or report.html with --format html)
and OUT/scores.png: the pass rate of every exercise, its most common diagnoses (the matdiff
tag of each failed check: the mistake the class made), a score histogram per assignment and
the submissions the grader had trouble with.
"""

from __future__ import annotations

import csv
import html
from collections import Counter, defaultdict
from pathlib import Path


def _read(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def summarise(out: Path) -> dict:
    grades, exercises = _read(out / "grades.csv"), _read(out / "exercises.csv")
    problems = _read(out / "problems.csv")
    per_ex: dict = defaultdict(lambda: {"n": 0, "passed": 0, "diagnoses": Counter(),
                                        "misconceptions": Counter(), "no_check": 0})
    for row in exercises:
        e = per_ex[(row["assignment"], row["grade_id"])]
        e["n"] += 1
        if float(row["score"]) >= float(row["max_score"]):
            e["passed"] += 1
        elif row["diagnosis"]:
            e["diagnoses"][row["diagnosis"]] += 1
            if row.get("misconception"):
                e["misconceptions"][row["misconception"]] += 1
        else:
            e["no_check"] += 1
    scores: dict = defaultdict(list)
    for row in grades:
        mx = float(row["max_score"])
        scores[row["assignment"]].append((float(row["score"]), mx))
    return {"exercises": dict(per_ex), "scores": dict(scores), "problems": problems,
            "students": len({r["student"] for r in grades})}


def histogram(scores: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    n = max(len(scores), 1)
    cols = min(n, 4)
    rows_ = -(-n // cols)
    fig, axes = plt.subplots(rows_, cols, figsize=(4.0 * cols, 3.0 * rows_), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    for ax, (name, rows) in zip(axes.flat, sorted(scores.items()), strict=False):
        mx = max((m for _, m in rows), default=1) or 1
        ax.hist([s for s, _ in rows], bins=min(20, max(5, int(mx) + 1)), range=(0, mx),
                color="#4393c3", edgecolor="white")
        ax.set_title(name)
        ax.set_xlabel(f"score (of {mx:g})")
        ax.set_ylabel("students")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _rows(summary: dict) -> list[list[str]]:
    rows = []
    for (assignment, gid), e in sorted(summary["exercises"].items()):
        rate = e["passed"] / e["n"] if e["n"] else 0.0
        common = ", ".join(f"{tag} ({k})" for tag, k in e["diagnoses"].most_common(3))
        if e["no_check"]:
            common = (common + ", " if common else "") + f"no check ran ({e['no_check']})"
        known = "; ".join(f"{name} ({k})" for name, k in e["misconceptions"].most_common(3))
        rows.append([assignment, gid, f"{e['passed']}/{e['n']}", f"{rate:.0%}", common or "-",
                     known or "-"])
    return rows


HEAD = ["assignment", "exercise", "passed", "pass rate", "most common diagnoses",
        "most common known mistakes"]
MEANINGS = ("Diagnoses: `transpose` (the other layout or the transpose), `sign`, `scale` (a constant "
            "factor, e.g. a missing 2 or a mean for a sum), `shape`, `missing-sum` (broadcast not "
            "summed), `upstream-ignored` (G treated as ones), `not-finite`, `not-array`, "
            "`not-answered`, `misconception` (one of the exercise's known mistakes, named in the last "
            "column), `wrong-values` (none of these). \"No check ran\": the test cell failed "
            "before checking (an error, a time-out, a missing answer).")


def markdown(summary: dict, png: str) -> str:
    lines = ["# Class report", "", f"{summary['students']} student(s).", "", f"![scores]({png})", "",
             "## Exercises", "", "| " + " | ".join(HEAD) + " |", "|" + "---|" * len(HEAD)]
    lines += ["| " + " | ".join(r) + " |" for r in _rows(summary)]
    lines += ["", MEANINGS, "", "## Scores", ""]
    for name, rows in sorted(summary["scores"].items()):
        vals = sorted(s for s, _ in rows)
        mx = max(m for _, m in rows)
        mean = sum(vals) / len(vals)
        lines.append(f"- {name}: mean {mean:.2f} / {mx:g}, median {vals[len(vals) // 2]:g}, "
                     f"full marks {sum(s >= mx for s in vals)}, zero {sum(s == 0 for s in vals)}")
    if summary["problems"]:
        lines += ["", "## Submissions the grader had trouble with", ""]
        lines += [f"- {p['student']}/{p['assignment']}: {p['problem']}" for p in summary["problems"]]
    return "\n".join(lines) + "\n"


def to_html(summary: dict, png: str) -> str:
    e = html.escape
    table = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in _rows(summary))
    problems = "".join(f"<li>{e(p['student'])}/{e(p['assignment'])}: {e(p['problem'])}</li>"
                       for p in summary["problems"])
    return ("<!doctype html><meta charset='utf-8'><title>Class report</title>"
            "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}"
            "td,th{border-bottom:1px solid #ddd;padding:.3em .6em;text-align:left}</style>"
            f"<h1>Class report</h1><p>{summary['students']} student(s).</p><img src='{e(png)}'>"
            "<h2>Exercises</h2><table><tr>" + "".join(f"<th>{e(h)}</th>" for h in HEAD) + "</tr>"
            + table + f"</table><p>{e(MEANINGS)}</p>"
            + (f"<h2>Submissions the grader had trouble with</h2><ul>{problems}</ul>" if problems else ""))


def main(out: str | Path, fmt: str = "md") -> int:
    out = Path(out)
    if not (out / "grades.csv").exists():
        print(f"{out}/grades.csv not found: run `python -m grader autograde ... --out {out}` first.")
        return 1
    summary = summarise(out)
    histogram(summary["scores"], out / "scores.png")
    path = out / ("report.html" if fmt == "html" else "report.md")
    path.write_text(to_html(summary, "scores.png") if fmt == "html" else markdown(summary, "scores.png"))
    print(f"wrote {path} and {out / 'scores.png'}")
    return 0
