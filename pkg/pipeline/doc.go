// Package pipeline holds the handlers of credres's serverless pipeline,
// free of any SDK so that the Lambda functions and the local runner execute
// the same code:
//
//	Entra audit log ─▶ Ingest ─▶ evaluation queue (FIFO, one group per user)
//	                              │
//	registration report ─▶ Sweep ─┘
//	                              ▼
//	                         Evaluate ─▶ Graph (live methods) + rules + store
//	                              │
//	                 ┌────────────┴────────────┐
//	                 ▼                         ▼
//	           nudge queue                ticket queue
//	                 │                         │
//	              Nudge ─▶ outbox           Ticket ─▶ helpdesk queue
//
// Each stage talks to the outside through small interfaces declared here
// and implemented by adapters (store, queue, graph, eventhubs) or by the
// in-process versions the local runner uses. The records that travel between
// the stages, the queues and the stores (EvaluationRequest, DecisionMessage,
// UserState, NudgeRecord, TicketRecord, …) are pkg/model types.
//
// Delivery is at least once everywhere: the ingest checkpoint advances only
// after its evaluation requests were enqueued; an evaluation publishes its
// decisions before it stores the assessment, and decision ids are derived
// from the state transition, so a retried evaluation repeats the same ids;
// the nudge and ticket stages claim each decision id before delivering, so a
// redelivered decision produces one message.
package pipeline
