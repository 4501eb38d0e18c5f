"""The case domain as pure Python: deadlines, projection, reminders, metrics.

No I/O and no Flask here: every function takes documents (dicts, as stored in CouchDB)
and returns values, so the same code runs in the API, the statistics read model feeder
and the tests. Imports nothing from the project but ``schemas``.

Modules:

* ``workdays``   China's working-day calendar (statutory holidays, 调休, provisional years)
* ``policies``   the deadline policy table (regulation, 520, green_channel, double_sign)
* ``projection`` ``project_case(case, events)`` → ``CaseProjection``
* ``reminders``  三单三函: due-soon / due / overdue per responsible unit
* ``metrics``    rates and counts over ``case_row`` flat rows (also as SQL)
* ``cli``        ``fengqiao calendar add-days|deadline``
"""
