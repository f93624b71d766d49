"""In-memory fakes of the platform's store protocols, for the fast unit tier
(tests/unit/orchestration). Each keeps its items in dicts and honours the same conditions as
its DynamoDB store; tests/contract runs the same cases against both, so they cannot drift."""
