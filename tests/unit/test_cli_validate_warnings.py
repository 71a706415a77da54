"""`wfo validate` prints validator warnings but exits 0 when there is no error."""

from __future__ import annotations

import json

from cli.main import main
from tests.helpers import defn, node


def test_warnings_are_printed_and_do_not_fail(tmp_path, capsys):
    path = tmp_path / "warned.json"
    path.write_text(json.dumps(defn([node("start", "start"), node("when", "datetime"),
                                     node("end", "end", output="{{ nodes.when.isoo }}")],
                                    ["start->when", "when->end"])))
    assert main(["validate", str(path)]) == 0
    out, err = capsys.readouterr()
    assert f"{path}: valid" in out
    assert "warning: node 'end', config.output: 'datetime' node 'when' never outputs a field 'isoo'" in err
    assert main(["validate", "--json", str(path)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is True and [p["severity"] for p in report["problems"]] == ["warning"]
