/**
 * The pages every rule of the Slack contract cites, the shapes its findings take, and small helpers the
 * rule families share. Pure and dependency-free: the demo (src/demo) and the tests import the contract.
 */

export const DOCS = 'https://docs.slack.dev/reference';
export const SOURCES = {
  modal: `${DOCS}/views/modal-views`,
  home: `${DOCS}/views/home-tab-views`,
  blocks: `${DOCS}/block-kit/blocks`,
  section: `${DOCS}/block-kit/blocks/section-block`,
  header: `${DOCS}/block-kit/blocks/header-block`,
  context: `${DOCS}/block-kit/blocks/context-block`,
  actions: `${DOCS}/block-kit/blocks/actions-block`,
  input: `${DOCS}/block-kit/blocks/input-block`,
  text: `${DOCS}/block-kit/composition-objects/text-object`,
  option: `${DOCS}/block-kit/composition-objects/option-object`,
  optionGroup: `${DOCS}/block-kit/composition-objects/option-group-object`,
  confirm: `${DOCS}/block-kit/composition-objects/confirmation-dialog-object`,
  button: `${DOCS}/block-kit/block-elements/button-element`,
  radio: `${DOCS}/block-kit/block-elements/radio-button-group-element`,
  externalSelect: `${DOCS}/block-kit/block-elements/select-menu-element#external_select`,
  staticSelect: `${DOCS}/block-kit/block-elements/select-menu-element#static_select`,
  textInput: `${DOCS}/block-kit/block-elements/plain-text-input-element`,
  postMessage: `${DOCS}/methods/chat.postMessage`,
  update: `${DOCS}/methods/chat.update`,
  viewsOpen: `${DOCS}/methods/views.open`,
  viewsPush: `${DOCS}/methods/views.push`,
  viewsUpdate: `${DOCS}/methods/views.update#errors`,
  modalErrors: 'https://docs.slack.dev/surfaces/modals#displaying_errors',
  escaping: 'https://docs.slack.dev/messaging/formatting-message-text#escaping',
  mentions: 'https://docs.slack.dev/messaging/formatting-message-text#special-mentions',
  responseUrl: 'https://docs.slack.dev/interactivity/handling-user-interaction#message_responses',
  triggers: 'https://docs.slack.dev/interactivity/handling-user-interaction#modal_responses',
  // Observed, not documented: Slack refuses a message whose blocks' texts add up to about 13,200
  // characters with msg_blocks_too_long (slackapi/bolt-js#2509).
  blocksTooLong: 'https://github.com/slackapi/bolt-js/issues/2509',
  utf16: 'https://datatracker.ietf.org/doc/html/rfc8259#section-8.2',
} as const;

export interface Violation {
  /** Human rule, e.g. "section text ≤ 3000 characters". */
  rule: string;
  /** JSON pointer into the payload, e.g. `/blocks/1/fields/3/text`. */
  path: string;
  /** Reference page the rule comes from. */
  source: string;
  /**
   * What Slack answers: `invalid_blocks` for messages, `invalid_arguments` for views and bad args. Slack
   * accepts what only Revoker's own rules refuse (an update identical to the message, a reused block_id, a
   * broadcast or labelled link in text): those carry `revoker_rule`, never a Slack error name, and no
   * stand-in refuses them (the tests' record fails the test instead).
   */
  error:
    | 'invalid_blocks'
    | 'invalid_arguments'
    | 'no_text'
    | 'msg_too_long'
    | 'msg_blocks_too_long'
    | 'revoker_rule';
}

/** Which payload this is: a Web API method, a response_url post, or an answer in an HTTP/socket ack. */
export type PayloadKind =
  | 'views.open'
  | 'views.update'
  | 'views.push'
  | 'views.publish'
  | 'chat.postMessage'
  | 'chat.update'
  | 'chat.postEphemeral'
  | 'response_url'
  | 'command_ack'
  | 'options'
  | 'view_ack';

/** The Web API methods whose payloads the contract checks (the others carry no Block Kit). */
export const CHECKED_METHODS: readonly PayloadKind[] = [
  'views.open',
  'views.update',
  'views.push',
  'views.publish',
  'chat.postMessage',
  'chat.update',
  'chat.postEphemeral',
];

export interface CheckContext {
  /** For a `view_ack`: the view that was submitted (to check `errors` keys name its input blocks). */
  submittedView?: unknown;
}

export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
export const len = (v: unknown): number => (typeof v === 'string' ? v.length : 0);

/** Web API args may carry `view`/`blocks` as JSON strings (form encoding). */
export function parseJson(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}
