"""Chapter 07 (uC/OS-III partitions): structure, size, exercises whose answers are not on the page.

nbval executes the notebook and compares the cells marked ``# NBVAL_CHECK_OUTPUT``; these tests
add what nbval cannot see.
"""


from kernelmem_widgets.exercises import ch07
from notebook_support import CHECK, assert_stored_clean, code_cells, not_live, read_notebook, run_in_process

NAME = "07_rtos_partitions.ipynb"


def test_small_valid_no_widget_state_no_errors():
    assert_stored_clean(NAME)


def test_checked_cells_have_output_and_live_cells_have_none():
    cells = code_cells(read_notebook(NAME))
    checked = [cell for cell in cells if cell.source.startswith(CHECK)]
    assert len(checked) >= 8
    assert all(cell.outputs for cell in checked)
    live = [cell for cell in cells if "live" in cell.metadata.get("tags", [])]
    assert len(live) == 1 and not live[0].outputs and not live[0].source.startswith(CHECK)


def test_outline_and_sources():
    text = "\n".join(cell.source for cell in read_notebook(NAME).cells if cell.cell_type == "markdown")
    for heading in ("## The quick answer", "## Explore", "## What `os_mem.c` does", "## The wrapper",
                    "## Heap against partitions", "## The tuner", "## How Linux does the same thing", "## Exercises",
                    "## On your machine", "## Further reading"):
        assert heading in text, heading
    assert "V3.08.02" in text and "TLSF" in text and "OS_ERR_MEM_INVALID_BLKS" in text


def test_no_private_attributes_and_no_answers_on_the_page():
    source = "\n".join(cell.source for cell in code_cells(read_notebook(NAME)))
    assert "._" not in source and "solution" not in source
    page = "\n".join(cell.source + "".join(o.get("text", "") for o in cell.get("outputs", []))
                     for cell in read_notebook(NAME).cells)
    for address in ch07._solution_1(0):
        assert hex(address) not in page
    assert all(f"ch07.answer_box({n})" in source for n in (1, 2, 3)) and "student_box()" in source


def test_runs_in_process_and_the_boxes_check_with_the_package():
    namespace, out = run_in_process(NAME, only=not_live)
    assert "OS_ERR_MEM_INVALID_BLKS (22204)" in out
    lab = namespace["lab"]
    lab.step(3)
    assert lab.stepper.position == 3
