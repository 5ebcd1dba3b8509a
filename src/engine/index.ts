// What the adapters (http, chat, channels, cli, jobs) use of the engine.
export { actOnRequest } from "./act";
export { actionInputSchema, RATING_NAMES, STAGE_DECISIONS, type ActionInput, type ServiceRating } from "./action-input";
export { FLOWS, stageDef } from "./flow";
export { previewRequest, type PreviewParty, type PreviewStage, type RequestPreview } from "./preview";
export { cardRequest, holderDecisions, partiesUsers, pendingHolders, type HolderDecision } from "./stages";
export { STATUS_NAMES, type ActionResult } from "./step";
export { openRequest, submitInputSchema, submitRequest } from "./submit";
export { elapseStage, loadCalendarYearWithDeadlines, recomputePendingDeadlines } from "./timed";
export { EXPORT_MAX_ROWS, exportRequestsCsv, getRequest, listQuerySchema, listRequests, requestIdByCode, searchQuerySchema } from "./views";
