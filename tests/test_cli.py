from kernelmem_widgets.cli import main


def test_cli_poses_then_answers(capsys):
    assert main(["-A", "alloc 0,alloc 2,alloc 1"]) == 0
    posed = capsys.readouterr().out
    assert "alloc 2                      -> ?" in posed and "-> pfn" not in posed
    assert main(["-A", "alloc 0,alloc 2,alloc 1", "-c"]) == 0
    answered = capsys.readouterr().out
    assert "alloc 2                      -> pfn 0x4 (16 KiB)" in answered
    assert "Node 0, zone   Normal      1      0      0      1      1      1      1      1      1      1      3 \n" in answered


def test_cli_reports_bad_input(capsys):
    assert main(["-A", "alloc zz"]) == 2
    assert "'zz' in 'alloc zz' is not a number" in capsys.readouterr().err
    assert main(["--ram", "12Q"]) == 2
