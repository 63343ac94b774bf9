"""Trusted documents compiled once (docs/trusted-documents.md).

`registry` holds the GraphQL documents department systems and the console registered, by SHA-256;
`compiler` turns a registered document of the compiled subset (one applicant by identifier with
its profile, materials and versions, cases and their items) into a policy plan and one SQL
statement; `reads` answers such a document: decide the plan with the same policy, run the
statement, record the same access entries, and hand back the database's JSON as the response.
`notice` compiles the other shape, the one-time notice: its use case runs as for the resolver,
and the result is written as the document selects it, without executing GraphQL fields.
"""
