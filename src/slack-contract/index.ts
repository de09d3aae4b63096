/**
 * The Slack contract: Slack's Web API as one stand-in (SlackWebApi, served over HTTP by SlackHttpStandIn
 * and through msw by the tests' SlackApiStub) with the Block Kit contract beside it, split by rule family:
 * text-rules (text objects, mrkdwn controls, confirm), element-rules (buttons, menus, options, text input),
 * block-rules (blocks, element types per block, combined text), view-rules (modals, Home, messages, acks),
 * method-rules (required arguments), slack-session (trigger_id, view stack, unknown view/ts). Each rule
 * cites its page (sources.ts).
 */
export { blockTextLength, OBSERVED_BLOCKS_TEXT_LIMIT } from './block-rules.ts';
export { checkSlackPayload, describeViolation, slackRefusal } from './check.ts';
export { MessageIterations } from './message-iterations.ts';
export { parseWebApiArgs } from './render.ts';
export { SlackHttpStandIn, type StandInCall } from './slack-http-stand-in.ts';
export { MAX_VIEW_STACK, SlackSession, TRIGGER_TTL_MS } from './slack-session.ts';
export { SlackWebApi, type SlackWebApiOptions, type SlackWorkspace } from './slack-web-api.ts';
export { CHECKED_METHODS, type CheckContext, type PayloadKind, SOURCES, type Violation } from './sources.ts';
