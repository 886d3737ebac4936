// The names the page uses for what the gateway sends, each one a schema of
// gateway/openapi.json: the types themselves are generated from the
// document at build time (ui/scripts/gen-api.mjs -> openapi.gen.ts), so
// a field the UI reads and the document lacks fails the typecheck.  Only
// names here; a shape that is not in the document belongs in the document.
import type { components, paths } from './openapi.gen'

type S = components['schemas']

export type AppliedRule = S['AppliedRule']
export type Card = S['Card']
export type Product = S['Product']
export type CartLine = S['CartLine']
export type CartDiscount = S['Discount']
export type Cart = S['Cart']
export type Facet = S['Facet']
export type SearchResult = S['ProductPage']
export type User = S['User']
export type TokenAnswer = S['Tokens']
export type Session = S['Session']
export type OrderLine = S['OrderLine']
export type Address = S['Address']
export type DeliveryOption = S['DeliveryOption']
export type DeliveryOptions = S['DeliveryOptions']
export type PaymentCard = S['PaymentCard']
export type SavedCard = S['SavedCard']
export type CheckoutInput = S['CheckoutInput']
export type OrderPayment = S['OrderPayment']
export type Order = S['Order']
export type OrderList = S['OrderList']
export type Action = S['Action']
export type UiAction = S['UiAction']
export type Confirmation = S['Confirmation']

/* frames the server sends on /ws */
export type ServerFrame = S['WsServerFrame']
export type ClientFrame = S['WsClientFrame']
export type ReplyFrame = S['WsReply']
export type ErrorFrame = S['WsError']

export type StageTiming = S['StageTiming']
export type TraceSummary = S['TraceSummary']
export type TraceList = S['TraceList']
export type Diagnostic = S['Diagnostic']
export type ReloadEvent = S['ReloadEvent']
export type PipelineGraph = S['PipelineGraph']
export type GraphStage = PipelineGraph['stages'][number]
export type GraphEdge = PipelineGraph['edges'][number]
export type PipelineInfo = S['Pipelines']

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete'
/* the JSON body the document declares for PATH and METHOD answering with
 * its success status (200 or 201): client.ts types each call with it, so
 * the endpoint and the shape it returns cannot drift apart */
export type Ok<P extends keyof paths, M extends Method> =
  paths[P][M] extends { responses: infer R }
    ? R extends { 200: { content: { 'application/json': infer B } } } ? B
      : R extends { 201: { content: { 'application/json': infer B } } } ? B
        : { noJsonAnswerIn: P }   /* not never: that would fit anything */
    : { noOperation: [P, M] }
