"""Electronic supervision (电子监察): what the supervision office sees (docs/supervision.md).

Owns the `supervision:<ref>` purpose (`purpose`), the rules as data (`rules`), timing states and
warnings of cases and reviews (`timing`), departments' monthly figures, cards and ranking
(`performance`), the office's reads (`cases`), access anomaly rules over the signed log
(`anomalies`), alerts with their evidence and their life (`alerts`), and the evaluation that runs
it all, by command or in the background (`evaluator`). It reads cases and the access log, and
writes neither.
"""
