"""Chapter 05 (a 100 MB DMA buffer): structure, size, exercises whose answers are not on the page."""


from kernelmem_widgets.labs.exercises import chapter05
from notebook_support import CHECK, assert_stored_clean, code_cells, read_notebook

NAME = "05_dma_100mb.ipynb"


def test_small_valid_no_widget_state_no_errors():
    assert_stored_clean(NAME)


def test_checked_cells_have_output_and_live_cells_have_none():
    cells = code_cells(read_notebook(NAME))
    checked = [cell for cell in cells if cell.source.startswith(CHECK)]
    assert len(checked) >= 8 and all(cell.outputs for cell in checked)
    live = [cell for cell in cells if "live" in cell.metadata.get("tags", [])]
    assert len(live) == 1 and not live[0].outputs


def test_outline_kernel_versions_and_real_outputs():
    nb = read_notebook(NAME)
    text = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")
    for heading in ("## The quick answer", "## Explore", "## The forum's answers, tried", "## After a week of uptime",
                    "## When CMA fails: pinned pages", "## What the kernel does", "## Exercises", "## On your machine",
                    "## Further reading"):
        assert heading in text, heading
    assert "Linux 6.18" in text and "2.6.35" in text
    outputs = "".join(o.get("text", "") for cell in code_cells(nb) for o in cell.get("outputs", []))
    assert "cma: Reserved 128 MiB at 0x0000000077e00000" in outputs
    assert "131072K cma-reserved)" in outputs
    assert "ret: -16" in outputs and "6,338 blocks migrated" in outputs
    assert "1,600 SG entries" in outputs


def test_no_private_attributes_and_no_answers_on_the_page():
    source = "\n".join(cell.source for cell in code_cells(read_notebook(NAME)))
    assert "._" not in source and "solution" not in source
    assert "answer_box(1)" in source and "answer_box(2)" in source and "answer_box(3)" in source
    page = "\n".join(cell.source for cell in read_notebook(NAME).cells)
    assert f"cma={chapter05.solution_2()}M" not in page


def test_the_boxes_check_with_the_package():
    assert chapter05.answer_box(1).check("none").endswith("right \N{HEAVY CHECK MARK}")
    assert "too small" in chapter05.answer_box(2).check("198M")
    assert chapter05.answer_box(2).check("200M").endswith("right \N{HEAVY CHECK MARK}")
    assert "-EBUSY" in chapter05.answer_box(3).check("c")
    assert chapter05.answer_box(3).check("b").endswith("right \N{HEAVY CHECK MARK}")
    assert "ZONE_DMA" in chapter05.answer_box(1).reveal()
