"""The exercises of each chapter: solutions and checks live here, never on the student's page.

Each chapter module has ``check_N(answer=None, *, reveal=False)`` (the code form a notebook cell
calls: it prints "not answered yet", "right" or what is wrong) and ``answer_box(N)``, the shared
:class:`~kernelmem_widgets.views.exercise.AnswerBox` bound to the same check, which works where
code is hidden (Voila).  ``solution_N()`` computes the model's answer on a fresh machine.
"""
