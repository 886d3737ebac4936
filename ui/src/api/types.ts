// Shapes of what the gateway sends (docs/api.md, gateway/openapi.json).
// Fields the gateway does not always send are optional here, and the UI
// copes without them.

export interface AppliedRule {
  id: string
  version?: number | string
  reason?: string
  before?: number
  after?: number
  amount?: number
}

export interface Card {
  sku: string
  title: string
  brand?: string
  category?: string
  price: number
  finalPrice?: number
  rating?: number
  stock?: number | null   // null: not kept (always available)
  thumbnail?: string
  appliedRules?: AppliedRule[]
}

export interface Product extends Card {
  description?: string
  images?: string[]
  originalThumbnail?: string   // the catalog's URL when thumbnail is the shop's copy
  originalImages?: string[]
  tags?: string[]
  discountPercentage?: number
}

export interface CartLine {
  sku: string
  title: string
  qty: number
  unitPrice: number
  finalPrice?: number
  lineTotal: number
  appliedRules?: AppliedRule[]
  thumbnail?: string
  category?: string | null
  stock?: number | null   // null: not kept (always available)
}

export interface CartDiscount {
  id: string
  version?: number | string
  reason?: string
  amount: number
}

export interface Cart {
  id?: string
  items: CartLine[]
  count: number
  subtotal: number
  discounts?: CartDiscount[]
  discountTotal?: number
  total: number
  promoCode?: string
}

export interface Facet {
  value: string
  count: number
}

export interface SearchResult {
  items: Product[]
  total: number
  page: number
  pageSize: number
  facets: { categories: Facet[]; brands: Facet[]; prices: Facet[] }
  corrected?: string
}

export interface User {
  id: number
  email: string
  name?: string
  role?: string
}

export interface TokenAnswer {
  accessToken: string
  refreshToken?: string   /* absent when asked for the cookie (browsers) */
  expiresIn: number
  sessionId: string
  user: User
}

export interface OrderLine {
  sku: string
  title: string
  qty: number
  unitPrice: number
  appliedRules?: AppliedRule[]
  thumbnail?: string   // the product's picture now (the shop's copy when kept)
  category?: string
}

export interface Address {
  name: string
  line1: string
  line2?: string
  city: string
  region?: string
  postalCode: string
  country: string
  phone?: string
}

export interface DeliveryOption {
  id: string
  name: string
  days: string
  price: number
  basePrice: number
  freeOver?: number
}

export interface PaymentCard {
  cardNumber: string
  expiry: string
  cvc: string
}

export interface SavedCard {
  provider: string
  brand: string
  last4: string
}

export interface CheckoutInput {
  address?: Address
  saveAddress?: boolean
  deliveryOption?: string
  /* a card, or the account's saved one */
  payment: PaymentCard | { saved: true }
  savePayment?: boolean
}

export interface OrderPayment {
  provider: string
  brand: string
  last4: string
  reference: string
  amount: number
  status: string
  saved?: boolean
}

export interface Order {
  id: number
  status: string
  total: number
  createdAt: number
  lines: OrderLine[]
  idempotencyKey?: string
  subtotal?: number
  discounts?: CartDiscount[]
  discountTotal?: number
  goodsTotal?: number
  currency?: string
  delivery?: DeliveryOption
  address?: Address
  payment?: OrderPayment
  emailText?: string
}

export interface Action {
  type: string
  sku?: string
  title?: string
  qty?: number
  status?: string
  [k: string]: unknown
}

/* What the page may offer beside a reply's text (gateway/openapi.json,
 * ChatReply.uiActions): open_checkout carries the delivery option and the
 * address the chat collected (when it was not saved to the account). */
export interface UiAction {
  type: 'open_checkout' | 'sign_in' | 'show_cart' | string
  label: string
  delivery?: string
  address?: Partial<Address>
}

/* a question the reply leaves open: kind is the pending action's type
 * (order.create, cart.add, checkout.address ...) */
export interface Confirmation {
  kind: string
  question: string
}

/* frames the server sends on /ws */
export type ServerFrame =
  | { type: 'session'; sessionId: string; sessionToken: string }
  | { type: 'hello'; sessionId: string; userId?: number | null }
  | { type: 'delta'; text: string; clientMsgId?: string }
  | ({
      type: 'reply'
      clientMsgId?: string
      text: string
      cards?: Card[]
      suggestions?: string[]
      actions?: Action[]
      cart?: Cart | null
      traceId?: string
      intent?: { name: string; confidence: number }
      replayed?: boolean
      /* server-driven page state: no page reads these out of the text */
      needsLogin?: boolean
      confirmation?: Confirmation | null
      uiActions?: UiAction[]
    })
  | { type: 'cart'; cart: Cart }
  | { type: 'trace'; trace: TraceSummary }
  | { type: 'subscribed' | 'unsubscribed'; topic: string }
  | { type: 'pong'; id?: unknown }
  | {
      type: 'error'
      status: number
      code: string
      title?: string
      detail?: string
      clientMsgId?: string
      retryAfter?: number
    }

export type ReplyFrame = Extract<ServerFrame, { type: 'reply' }>
export type ErrorFrame = Extract<ServerFrame, { type: 'error' }>

export interface StageTiming {
  stage: string
  type?: string
  us: number
  result?: string
  note?: string
}

export interface TraceSummary {
  id: string
  at: number
  sessionId?: string
  userId?: number
  text?: string
  intent?: {
    name: string
    confidence: number
    source?: string
    fallback?: string
    alternatives?: { name: string; confidence: number }[]
  }
  route?: string
  pipeline?: { name: string; version: number }
  elapsedUs?: number
  stages?: StageTiming[]
  error?: unknown
}

export interface Diagnostic {
  severity: string
  file: string
  line: number
  col: number
  message: string
  where?: string
}

export interface ReloadEvent {
  at: number
  trigger: string
  actor?: string
  ok: boolean
  loadUs?: number
  errors?: number
  warnings?: number
  pipeline?: string
  version?: number
  file?: string
  diagnostics?: Diagnostic[]
}

export interface GraphStage {
  id: string
  type: string
  line?: number
}

export interface GraphEdge {
  from: string
  to: string
  kind: string
}

export interface PipelineInfo {
  graph?: {
    name: string
    version: number
    file?: string
    deadlineMs?: number
    intents?: { name: string; examples: number }[]
    stages: GraphStage[]
    edges: GraphEdge[]
  }
  name?: string
  version?: number
  file?: string
  diagnostics: Diagnostic[]
  reloads: ReloadEvent[]
  watching?: boolean
}
