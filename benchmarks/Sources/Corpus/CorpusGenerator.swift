/// Generates an endless, deterministic stream of realistic Orderspace and O2VEND webhook events.
///
/// The stream simulates a few accounts trading: orders go through their lifecycles (created, updated,
/// dispatched with a stock move per line, invoiced, paid — or O2VEND's create, update, delivery), stock
/// is counted in bulk now and then, customers and products change. The same seed always gives the same
/// events, byte for byte.
///
/// Entity popularity is skewed the way real archives are: most orders have a handful of events, while a
/// few "standing" orders, picked with a Zipf law over all orders so far, are updated again and again and
/// collect hundreds of events; SKUs and customers are also Zipf-distributed.
public struct CorpusGenerator: Sequence, IteratorProtocol, Sendable {
    /// One account of the simulation.
    public struct Account: Sendable {
        /// The account name.
        public var name: String
        /// Which platform sends its events.
        public var source: CorpusSource
        /// Its share of the traffic.
        public var weight: Double

        /// Creates an account.
        public init(name: String, source: CorpusSource, weight: Double) {
            self.name = name
            self.source = source
            self.weight = weight
        }
    }

    /// Two Orderspace and two O2VEND accounts of different sizes.
    public static let defaultAccounts = [
        Account(name: "harbour-lane", source: .orderspace, weight: 0.40),
        Account(name: "northwind-trade", source: .orderspace, weight: 0.25),
        Account(name: "meena-traders", source: .o2vend, weight: 0.25),
        Account(name: "saanjh-retail", source: .o2vend, weight: 0.10),
    ]

    struct Order: Sendable {
        var account: UInt8
        var updates: UInt8  // planned order.updated events before dispatch
        var step: UInt8
        var deleted: Bool
        var created: Int64
    }

    struct Line {
        var skuIndex: Int
        var sku: Catalog.SKURef
        var quantity: Int
    }

    let seed: UInt64
    let accounts: [Account]
    let catalogs: [Catalog]
    private var cumulativeWeights: [Double]
    private var rng: SplitMix64
    private var now: Int64
    private var orders: [Order] = []
    private var pool: [Int32] = []
    private var pending: [CorpusEvent] = []
    private var pendingHead = 0
    private var stock: [[Int]]
    private var customerAnnounced: [[Bool]]
    private var productAnnounced: [[Bool]]
    private var scratchLines: [Line] = []

    /// Creates a generator; the whole stream follows from `seed`.
    public init(seed: UInt64 = 42, accounts: [Account] = Self.defaultAccounts) {
        precondition(!accounts.isEmpty && accounts.count < 256)
        self.seed = seed
        self.accounts = accounts
        catalogs = accounts.enumerated().map { i, a in
            Catalog(accountIndex: i, source: a.source, seed: seed, customers: 2000, products: 300)
        }
        var total = 0.0
        cumulativeWeights = accounts.map {
            total += $0.weight
            return total
        }
        cumulativeWeights = cumulativeWeights.map { $0 / total }
        rng = SplitMix64(seed: SplitMix64.hash(seed, 0x5EED))
        now = 1_767_600_000  // 2026-01-05T08:00:00Z
        stock = catalogs.map { c in c.skus.indices.map { i in 100 + Int(SplitMix64.hash(seed, 77, UInt64(i)) % 400) } }
        customerAnnounced = catalogs.map { [Bool](repeating: false, count: $0.customers.count) }
        productAnnounced = catalogs.map { [Bool](repeating: false, count: $0.products.count) }
        pending.reserveCapacity(64)
    }

    /// The next event (the stream never ends).
    public mutating func next() -> CorpusEvent? {
        while pendingHead == pending.count {
            pending.removeAll(keepingCapacity: true)
            pendingHead = 0
            step()
        }
        let event = pending[pendingHead]
        pendingHead += 1
        return event
    }

    /// The next `count` events.
    public mutating func take(_ count: Int) -> [CorpusEvent] {
        var out: [CorpusEvent] = []
        out.reserveCapacity(count)
        for _ in 0..<count { out.append(next()!) }
        return out
    }

    // MARK: The simulation

    private mutating func pickAccount(_ source: CorpusSource? = nil) -> Int {
        while true {
            let u = rng.unit()
            var i = 0
            while i < cumulativeWeights.count - 1 && u >= cumulativeWeights[i] { i += 1 }
            if source == nil || accounts[i].source == source { return i }
        }
    }

    private mutating func step() {
        now += Int64(rng.below(4))
        let r = rng.unit()
        switch r {
        case ..<0.03 where !orders.isEmpty:
            hotUpdate()
        case ..<0.0315:
            bulkStockTake(account: pickAccount(.orderspace))
        case ..<0.08:
            restock(account: pickAccount())
        case ..<0.11:
            customerEvent(account: pickAccount(.orderspace))
        case ..<0.13:
            productEvent(account: pickAccount())
        default:
            if pool.count < 64 || (pool.count < 4096 && rng.chance(0.182)) {
                newOrder()
            } else {
                let slot = rng.below(pool.count)
                let index = Int(pool[slot])
                if advance(order: index) {
                    pool.swapAt(slot, pool.count - 1)
                    pool.removeLast()
                }
            }
        }
    }

    private mutating func newOrder() {
        let account = pickAccount()
        let deleted = accounts[account].source == .orderspace && rng.chance(0.03)
        let updates = UInt8(Zipf.rank(n: 4, s: 1.2, u: rng.unit()))
        orders.append(Order(account: UInt8(account), updates: updates, step: 0, deleted: deleted, created: now))
        let index = orders.count - 1
        pool.append(Int32(index))
        _ = advance(order: index)
    }

    /// Emits the order's next lifecycle event(s); true when the lifecycle is over.
    private mutating func advance(order index: Int) -> Bool {
        let o = orders[index]
        orders[index].step += 1
        let updates = Int(o.updates)
        let step = Int(o.step)
        if accounts[Int(o.account)].source == .orderspace {
            if step == 0 {
                emitOrderspaceOrder(index, type: "order.created", status: "new")
                return false
            }
            if o.deleted {
                emitOrderDeleted(index)
                return true
            }
            switch step - updates {
            case ...0:
                emitOrderspaceOrder(index, type: "order.updated", status: Words.orderspaceStatuses[rng.below(4)])
                return false
            case 1:
                emitDispatch(index)
                return false
            case 2:
                emitInvoice(index)
                return rng.chance(0.05)  // some are never paid (through Orderspace)
            default:
                emitPayment(index)
                return true
            }
        } else {
            if step == 0 {
                emitO2VENDOrder(index, type: "Order.Create", status: "Pending", creating: true)
                return false
            }
            switch step - updates {
            case ...0:
                emitO2VENDOrder(index, type: "Order.Update", status: Words.o2vendStatuses[rng.below(4)], creating: false)
                return false
            case 1:
                emitShipmentDelivered(index)
                return false
            default:
                emitO2VENDOrder(index, type: "Order.Update", status: "Completed", creating: false)
                return true
            }
        }
    }

    /// A standing order, edited again and again: Zipf over all orders so far, oldest the hottest.
    private mutating func hotUpdate() {
        let index = Zipf.rank(n: orders.count, s: 1.0, u: rng.unit())
        if accounts[Int(orders[index].account)].source == .orderspace {
            emitOrderspaceOrder(index, type: "order.updated", status: Words.orderspaceStatuses[rng.below(4)])
        } else {
            emitO2VENDOrder(index, type: "Order.Update", status: Words.o2vendStatuses[rng.below(4)], creating: false)
        }
    }

    // MARK: Order contents (a pure function of the order's number)

    private func orderLines(_ index: Int, into lines: inout [Line]) {
        lines.removeAll(keepingCapacity: true)
        let account = Int(orders[index].account)
        let skus = catalogs[account].skus.count
        var r = SplitMix64(seed: SplitMix64.hash(seed, 0x0D0D, UInt64(index)))
        let count = 1 + Zipf.rank(n: 4, s: 0.8, u: r.unit())
        for _ in 0..<count {
            var sku = Zipf.rank(n: skus, s: 1.0, u: r.unit())
            var tries = 0
            while tries < 4 && lines.contains(where: { $0.skuIndex == sku }) {
                sku = Zipf.rank(n: skus, s: 1.0, u: r.unit())
                tries += 1
            }
            if tries == 4 { continue }
            let quantity = accounts[account].source == .orderspace ? 6 * (1 + r.below(8)) : 1 + r.below(6)
            lines.append(Line(skuIndex: sku, sku: catalogs[account].skus[sku], quantity: quantity))
        }
    }

    private func orderCustomer(_ index: Int) -> Int {
        let n = catalogs[Int(orders[index].account)].customers.count
        return Zipf.rank(n: n, s: 0.9, u: SplitMix64(seed: SplitMix64.hash(seed, 0xC057, UInt64(index))).unit0())
    }

    private func orderID(_ index: Int) -> String {
        Ids.orderspace("or_", SplitMix64.hash(seed, 0x0DE5, UInt64(index)))
    }

    private func orderNumber(_ index: Int) -> Int { 2000 + index }

    private func o2vendOrderID(_ index: Int) -> Int { 90_000 + index }

    private mutating func uuid() -> String { Ids.uuid(rng.next(), rng.next()) }

    private mutating func emit(
        _ account: Int, _ type: String, entity: String?, refs: [String], id: String? = nil, _ payload: JSONBytes
    ) {
        var refs = refs
        if refs.count > 1 {
            var unique: [String] = []
            unique.reserveCapacity(refs.count)
            for r in refs where !unique.contains(r) { unique.append(r) }
            refs = unique
        }
        pending.append(
            CorpusEvent(
                account: accounts[account].name, source: accounts[account].source.rawValue, type: type,
                entity: entity, refs: refs, id: id, payload: payload.bytes))
    }

    // MARK: Orderspace

    private func address(_ w: JSONBytes, _ c: Catalog.Customer) {
        w.raw("{\"company_name\": ")
        w.string(c.company)
        w.raw(", \"contact_name\": \"\", \"line1\": ")
        w.string(c.line1)
        w.raw(", \"line2\": \"\", \"city\": ")
        w.string(c.city)
        w.raw(", \"state\": \"\", \"postal_code\": ")
        w.string(c.postcode)
        w.raw(", \"country\": \"GB\"}")
    }

    private mutating func emitOrderspaceOrder(_ index: Int, type: String, status: String) {
        let account = Int(orders[index].account)
        var lines = scratchLines
        orderLines(index, into: &lines)
        defer { scratchLines = lines }
        let catalog = catalogs[account]
        let customer = catalog.customers[orderCustomer(index)]
        let id = orderID(index)
        let number = orderNumber(index)
        var r = SplitMix64(seed: SplitMix64.hash(seed, 0x0A7A, UInt64(index)))
        let w = JSONBytes(capacity: 2048)
        w.raw("{\"event\": ")
        w.string(type)
        w.raw(", \"data\": {\"order\": {\"id\": ")
        w.string(id)
        w.raw(", \"number\": ")
        w.int(number)
        w.raw(", \"created\": ")
        w.dateTime(orders[index].created)
        w.raw(", \"status\": ")
        w.string(status)
        w.raw(", \"customer_id\": ")
        w.string(customer.id)
        w.raw(", \"company_name\": ")
        w.string(customer.company)
        w.raw(", \"phone\": ")
        w.string(customer.phone)
        w.raw(", \"email_addresses\": {\"orders\": \"buying@")
        w.rawText(customer.emailDomain)
        w.raw("\", \"dispatches\": \"\", \"invoices\": \"\"}, \"delivery_date\": ")
        w.date(orders[index].created + Int64(2 + r.below(10)) * 86_400)
        w.raw(", \"reference\": ")
        w.string(customer.reference + "-" + String(number % 1000))
        w.raw(", \"internal_note\": ")
        w.string(type == "order.created" ? "" : Words.internalNotes[rng.below(Words.internalNotes.count)])
        w.raw(", \"customer_po_number\": \"PO-")
        w.int(1000 + r.below(9000))
        w.raw("\", \"customer_note\": ")
        w.string(Words.notes[r.below(Words.notes.count)])
        w.raw(", \"shipping_type\": ")
        w.string(Words.shippingTypes[r.below(Words.shippingTypes.count)])
        w.raw(", \"shipping_address\": ")
        address(w, customer)
        w.raw(", \"billing_address\": ")
        address(w, customer)
        w.raw(", \"order_lines\": [")
        var refs = [customer.id]
        var net = 0
        for (i, line) in lines.enumerated() {
            let p = catalog.products[line.sku.product]
            let v = p.variants[line.sku.variant]
            let sub = v.priceHundredths * line.quantity
            net += sub
            if i > 0 { w.raw(", ") }
            w.raw("{\"id\": ")
            w.string(Ids.orderspace("ol_", SplitMix64.hash(seed, UInt64(index), UInt64(i))))
            w.raw(", \"sku\": ")
            w.string(v.sku)
            w.raw(", \"name\": ")
            w.string(p.name)
            w.raw(", \"options\": \"")
            w.rawText(p.optionName)
            w.raw(": ")
            w.rawText(v.option)
            w.raw("\", \"shipping\": false, \"quantity\": ")
            w.int(line.quantity)
            w.raw(", \"unit_price\": ")
            w.decimal(hundredths: v.priceHundredths)
            w.raw(", \"sub_total\": ")
            w.decimal(hundredths: sub)
            w.raw(", \"tax_name\": \"Standard\", \"tax_rate\": 20.0, \"tax_amount\": ")
            w.decimal(hundredths: sub / 5)
            w.raw(", \"on_hold\": false, \"invoiced\": 0, \"paid\": 0, \"dispatched\": 0}")
            refs.append(v.sku)
        }
        w.raw("], \"currency\": \"GBP\", \"net_total\": ")
        w.decimal(hundredths: net)
        w.raw(", \"gross_total\": ")
        w.decimal(hundredths: net + net / 5)
        w.raw("}}}")
        emit(account, type, entity: id, refs: refs, w)
    }

    private mutating func emitOrderDeleted(_ index: Int) {
        let id = orderID(index)
        let w = JSONBytes(capacity: 128)
        w.raw("{\"event\": \"order.deleted\", \"data\": {\"order\": {\"id\": ")
        w.string(id)
        w.raw(", \"number\": ")
        w.int(orderNumber(index))
        w.raw(", \"deleted\": true}}}")
        emit(Int(orders[index].account), "order.deleted", entity: id, refs: [], w)
    }

    private mutating func emitDispatch(_ index: Int) {
        let account = Int(orders[index].account)
        var lines = scratchLines
        orderLines(index, into: &lines)
        defer { scratchLines = lines }
        let catalog = catalogs[account]
        let customer = catalog.customers[orderCustomer(index)]
        let orderID = orderID(index)
        let id = Ids.orderspace("di_", SplitMix64.hash(seed, 0xD15, UInt64(index)))
        let w = JSONBytes(capacity: 1536)
        w.raw("{\"event\": \"dispatch.created\", \"data\": {\"dispatch\": {\"id\": ")
        w.string(id)
        w.raw(", \"order_id\": ")
        w.string(orderID)
        w.raw(", \"order_number\": ")
        w.int(orderNumber(index))
        w.raw(", \"created\": ")
        w.dateTime(now)
        w.raw(", \"comments\": ")
        w.string(Words.dispatchComments[rng.below(Words.dispatchComments.count)])
        w.raw(", \"customer_note\": \"\", \"customer_po_number\": \"\", \"shipping_type\": \"Standard\", \"shipping_address\": ")
        address(w, customer)
        w.raw(", \"email_address\": \"buying@")
        w.rawText(customer.emailDomain)
        w.raw("\", \"phone\": ")
        w.string(customer.phone)
        w.raw(", \"dispatch_lines\": [")
        var refs = [orderID]
        for (i, line) in lines.enumerated() {
            let p = catalog.products[line.sku.product]
            let v = p.variants[line.sku.variant]
            if i > 0 { w.raw(", ") }
            w.raw("{\"order_line_id\": ")
            w.string(Ids.orderspace("ol_", SplitMix64.hash(seed, UInt64(index), UInt64(i))))
            w.raw(", \"sku\": ")
            w.string(v.sku)
            w.raw(", \"name\": ")
            w.string(p.name)
            w.raw(", \"options\": \"")
            w.rawText(p.optionName)
            w.raw(": ")
            w.rawText(v.option)
            w.raw("\", \"quantity\": ")
            w.int(line.quantity)
            w.raw("}")
            refs.append(v.sku)
        }
        w.raw("]}}}")
        emit(account, "dispatch.created", entity: id, refs: refs, w)
        // Each dispatched line moves stock: Orderspace sends an inventory_level.updated per SKU.
        for line in lines {
            inventoryLevel(account: account, skuIndex: line.skuIndex, adjustment: -line.quantity)
        }
    }

    private mutating func inventoryLevel(account: Int, skuIndex: Int, adjustment: Int) {
        let sku = catalogs[account].variant(catalogs[account].skus[skuIndex]).sku
        stock[account][skuIndex] += adjustment
        if stock[account][skuIndex] < 0 { stock[account][skuIndex] += 500 }
        let onHand = stock[account][skuIndex]
        if accounts[account].source == .o2vend {
            stockQuantityUpdate(account: account, skuIndex: skuIndex, previous: onHand - adjustment)
            return
        }
        let w = JSONBytes(capacity: 192)
        w.raw("{\"event\": \"inventory_level.updated\", \"data\": {\"inventory_level\": {\"sku\": ")
        w.string(sku)
        w.raw(", \"on_hand\": ")
        w.decimal(hundredths: onHand * 100)
        w.raw(", \"on_hand_adjustment\": ")
        w.decimal(hundredths: adjustment * 100)
        w.raw(", \"available\": ")
        w.decimal(hundredths: Swift.max(0, onHand - skuIndex % 7) * 100)
        w.raw(", \"available_adjustment\": ")
        w.decimal(hundredths: adjustment * 100)
        w.raw("}}}")
        emit(account, "inventory_level.updated", entity: sku, refs: [], w)
    }

    private mutating func emitInvoice(_ index: Int) {
        let account = Int(orders[index].account)
        var lines = scratchLines
        orderLines(index, into: &lines)
        defer { scratchLines = lines }
        let catalog = catalogs[account]
        let customer = catalog.customers[orderCustomer(index)]
        let orderID = orderID(index)
        let number = orderNumber(index)
        let id = Ids.orderspace("iv_", SplitMix64.hash(seed, 0x1A7, UInt64(index)))
        let w = JSONBytes(capacity: 1792)
        w.raw("{\"event\": \"invoice.created\", \"data\": {\"invoice\": {\"id\": ")
        w.string(id)
        w.raw(", \"number\": \"INV-")
        w.int(number)
        w.raw("\", \"invoice_date\": ")
        w.date(now)
        w.raw(", \"customer_id\": ")
        w.string(customer.id)
        w.raw(", \"company_name\": ")
        w.string(customer.company)
        w.raw(", \"email_address\": \"accounts@")
        w.rawText(customer.emailDomain)
        w.raw("\", \"orders\": [{\"id\": ")
        w.string(orderID)
        w.raw(", \"number\": ")
        w.int(number)
        w.raw("}], \"payment_terms\": \"30 Days\", \"due_date\": ")
        w.date(now + 30 * 86_400)
        w.raw(", \"paid\": false, \"proforma\": false, \"deposit\": null, \"comments\": \"\", \"address\": ")
        address(w, customer)
        w.raw(", \"invoice_lines\": [")
        var refs = [customer.id, orderID]
        var net = 0
        for (i, line) in lines.enumerated() {
            let p = catalog.products[line.sku.product]
            let v = p.variants[line.sku.variant]
            let sub = v.priceHundredths * line.quantity
            net += sub
            if i > 0 { w.raw(", ") }
            w.raw("{\"sku\": ")
            w.string(v.sku)
            w.raw(", \"name\": ")
            w.string(p.name)
            w.raw(", \"options\": \"")
            w.rawText(p.optionName)
            w.raw(": ")
            w.rawText(v.option)
            w.raw("\", \"quantity\": ")
            w.int(line.quantity)
            w.raw(", \"unit_price\": ")
            w.decimal(hundredths: v.priceHundredths)
            w.raw(", \"sub_total\": ")
            w.decimal(hundredths: sub)
            w.raw(", \"tax_rate\": 20.0, \"tax_amount\": ")
            w.decimal(hundredths: sub / 5)
            w.raw("}")
            refs.append(v.sku)
        }
        w.raw("], \"currency\": \"GBP\", \"net_total\": ")
        w.decimal(hundredths: net)
        w.raw(", \"gross_total\": ")
        w.decimal(hundredths: net + net / 5)
        w.raw(", \"payments\": []}}}")
        emit(account, "invoice.created", entity: id, refs: refs, w)
    }

    private mutating func emitPayment(_ index: Int) {
        let account = Int(orders[index].account)
        var lines = scratchLines
        orderLines(index, into: &lines)
        defer { scratchLines = lines }
        let catalog = catalogs[account]
        let customer = catalog.customers[orderCustomer(index)]
        var net = 0
        for line in lines { net += catalog.variant(line.sku).priceHundredths * line.quantity }
        let invoiceID = Ids.orderspace("iv_", SplitMix64.hash(seed, 0x1A7, UInt64(index)))
        let reference = Ids.orderspace("py_", SplitMix64.hash(seed, 0x9A7, UInt64(index)))
        let w = JSONBytes(capacity: 320)
        w.raw("{\"event\": \"payment.created\", \"data\": {\"payment\": {\"invoice_id\": ")
        w.string(invoiceID)
        w.raw(", \"invoice_number\": \"INV-")
        w.int(orderNumber(index))
        w.raw("\", \"amount\": ")
        w.decimal(hundredths: net + net / 5)
        w.raw(", \"payment_date\": ")
        w.date(now)
        w.raw(", \"source\": ")
        w.string(Words.paymentSources[rng.below(Words.paymentSources.count)])
        w.raw(", \"description\": ")
        w.string("BACS " + customer.company.uppercased())
        w.raw(", \"reference\": ")
        w.string(reference)
        w.raw("}}}")
        emit(account, "payment.created", entity: invoiceID, refs: [reference], w)
    }

    private mutating func bulkStockTake(account: Int) {
        let n = catalogs[account].skus.count
        let start = rng.below(n)
        for i in 0..<Swift.min(50, n) {
            let adjustment = rng.below(21) - 10
            inventoryLevel(account: account, skuIndex: (start + i) % n, adjustment: adjustment == 0 ? 1 : adjustment)
        }
    }

    private mutating func restock(account: Int) {
        let n = catalogs[account].skus.count
        inventoryLevel(account: account, skuIndex: Zipf.rank(n: n, s: 1.0, u: rng.unit()), adjustment: 12 * (1 + rng.below(10)))
    }

    private mutating func customerEvent(account: Int) {
        let index = Zipf.rank(n: catalogs[account].customers.count, s: 0.9, u: rng.unit())
        let c = catalogs[account].customers[index]
        let type = customerAnnounced[account][index] ? "customer.updated" : "customer.created"
        customerAnnounced[account][index] = true
        let w = JSONBytes(capacity: 1024)
        w.raw("{\"event\": ")
        w.string(type)
        w.raw(", \"data\": {\"customer\": {\"id\": ")
        w.string(c.id)
        w.raw(", \"company_name\": ")
        w.string(c.company)
        w.raw(", \"created_at\": ")
        w.dateTime(c.createdAt)
        w.raw(", \"status\": \"active\", \"reference\": ")
        w.string(c.reference)
        w.raw(", \"buyers\": [{\"name\": ")
        w.string(c.buyer)
        w.raw(", \"email_address\": \"buying@")
        w.rawText(c.emailDomain)
        w.raw("\"}], \"phone\": ")
        w.string(c.phone)
        w.raw(", \"email_addresses\": {\"orders\": \"buying@")
        w.rawText(c.emailDomain)
        w.raw("\", \"dispatches\": \"\", \"invoices\": \"\"}, \"tax_number\": ")
        w.string(c.taxNumber)
        w.raw(", \"tax_rate_id\": null, \"addresses\": [")
        address(w, c)
        w.raw("], \"minimum_spend\": ")
        w.decimal(hundredths: 5000 * (1 + rng.below(4)))
        w.raw(", \"payment_terms_id\": ")
        w.string(c.paymentTermsID)
        w.raw(", \"customer_group_id\": ")
        w.string(c.groupID)
        w.raw(", \"price_list_id\": null}}}")
        emit(account, type, entity: c.id, refs: [], w)
    }

    private mutating func productEvent(account: Int) {
        let index = Zipf.rank(n: catalogs[account].products.count, s: 0.8, u: rng.unit())
        let announced = productAnnounced[account][index]
        productAnnounced[account][index] = true
        let p = catalogs[account].products[index]
        if accounts[account].source == .o2vend {
            if announced {
                let s = catalogs[account].firstSKU[index]
                inventoryLevel(account: account, skuIndex: s, adjustment: 1 + rng.below(20))
            } else {
                o2vendProductCreate(account: account, p)
            }
            return
        }
        let type = announced ? "product.updated" : "product.created"
        let w = JSONBytes(capacity: 1536)
        w.raw("{\"event\": ")
        w.string(type)
        w.raw(", \"data\": {\"product\": {\"id\": ")
        w.string(p.id)
        w.raw(", \"code\": ")
        w.string(p.code)
        w.raw(", \"name\": ")
        w.string(p.name)
        w.raw(", \"description\": ")
        w.string(p.description)
        w.raw(", \"active\": true, \"tariff_code\": \"6912.00\", \"country_of_origin\": \"United Kingdom\", \"composition\": ")
        w.string(p.composition)
        w.raw(", \"variant_options\": [")
        w.string(p.optionName)
        w.raw("], \"product_variants\": [")
        var refs: [String] = []
        for (i, v) in p.variants.enumerated() {
            if i > 0 { w.raw(", ") }
            w.raw("{\"id\": ")
            w.string(v.id)
            w.raw(", \"sku\": ")
            w.string(v.sku)
            w.raw(", \"barcode\": ")
            w.string(v.barcode)
            w.raw(", \"options\": {")
            w.string(p.optionName)
            w.raw(": ")
            w.string(v.option)
            w.raw("}, \"unit_price\": ")
            w.decimal(hundredths: v.priceHundredths)
            w.raw(", \"price_list_prices\": [], \"rrp\": ")
            w.decimal(hundredths: v.priceHundredths * 2 + 100)
            w.raw(", \"backorder\": ")
            w.bool(rng.chance(0.3))
            w.raw(", \"minimum\": 6, \"multiple\": 6, \"weight\": 0.4}")
            refs.append(v.sku)
        }
        w.raw("], \"categories\": [{\"id\": ")
        w.string(p.categoryID)
        w.raw(", \"name\": ")
        w.string(p.categoryName)
        w.raw("}], \"grouping_category_id\": ")
        w.string(p.categoryID)
        w.raw("}}}")
        emit(account, type, entity: p.id, refs: refs, w)
    }

    // MARK: O2VEND

    private mutating func o2vendHead(_ w: JSONBytes, id: String, type: String, attempt: Int) {
        w.raw("{\"Id\": ")
        w.string(id)
        w.raw(", \"Event\": ")
        w.string(type)
        w.raw(", \"Attempt\": ")
        w.int(attempt)
        w.raw(", \"Data\": {")
    }

    private mutating func o2vendTail(_ w: JSONBytes) {
        w.raw("}, \"CreationTimeUtc\": ")
        w.dateTime(now, fraction7: rng.below(10_000_000))
        w.raw("}")
    }

    private mutating func emitO2VENDOrder(_ index: Int, type: String, status: String, creating: Bool) {
        let account = Int(orders[index].account)
        var lines = scratchLines
        orderLines(index, into: &lines)
        defer { scratchLines = lines }
        let catalog = catalogs[account]
        let customer = catalog.customers[orderCustomer(index)]
        let id = uuid()
        let orderID = o2vendOrderID(index)
        let w = JSONBytes(capacity: 1024)
        o2vendHead(w, id: id, type: type, attempt: rng.chance(0.05) ? 1 + rng.below(3) : 0)
        w.raw("\"Id\": ")
        w.int(orderID)
        w.raw(", \"OrderNumber\": \"SO-")
        w.int(orderID - 80_000)
        w.raw("\", \"CustomerId\": ")
        w.int(customer.numericID)
        w.raw(", \"CustomerName\": ")
        w.string(customer.company)
        w.raw(", \"Status\": ")
        w.string(status)
        w.raw(", \"OrderDate\": ")
        w.dateTime(orders[index].created)
        w.raw(", \"CurrencyCode\": \"INR\", \"ShippingAddress\": {\"Line1\": ")
        w.string(customer.line1)
        w.raw(", \"City\": ")
        w.string(customer.city)
        w.raw(", \"PostalCode\": ")
        w.string(customer.postcode)
        w.raw(", \"Country\": \"IN\"}, \"Phone\": ")
        w.string(customer.phone)
        var net = 0
        var refs = [String(customer.numericID)]
        for line in lines { net += catalog.variant(line.sku).priceHundredths * line.quantity }
        w.raw(", \"SubTotal\": ")
        w.decimal(hundredths: net)
        w.raw(", \"TaxTotal\": ")
        w.decimal(hundredths: net * 18 / 100)
        w.raw(", \"Total\": ")
        w.decimal(hundredths: net + net * 18 / 100)
        w.raw(", \"Lines\": [")
        for (i, line) in lines.enumerated() {
            let p = catalog.products[line.sku.product]
            let v = p.variants[line.sku.variant]
            if i > 0 { w.raw(", ") }
            w.raw("{\"ProductId\": ")
            w.int(p.numericID)
            w.raw(", \"Sku\": ")
            w.string(v.sku)
            w.raw(", \"Name\": ")
            w.string(p.name)
            w.raw(", \"Quantity\": ")
            w.int(line.quantity)
            w.raw(", \"Price\": ")
            w.decimal(hundredths: v.priceHundredths)
            w.raw("}")
            refs.append(p.id)
            refs.append(v.sku)
        }
        w.raw("]")
        o2vendTail(w)
        emit(account, type, entity: String(orderID), refs: refs, id: id, w)
        if creating {
            // O2VEND reserves stock when the order is placed: a StockQuantityUpdate per line.
            for line in lines {
                inventoryLevel(account: account, skuIndex: line.skuIndex, adjustment: -line.quantity)
            }
        }
    }

    private mutating func emitShipmentDelivered(_ index: Int) {
        let account = Int(orders[index].account)
        let shipment = 7000 + index
        let id = uuid()
        let w = JSONBytes(capacity: 384)
        o2vendHead(w, id: id, type: "Shipment.Delivered", attempt: 0)
        w.raw("\"Id\": ")
        w.int(shipment)
        w.raw(", \"OrderId\": ")
        w.int(o2vendOrderID(index))
        w.raw(", \"TrackingNumber\": \"DL")
        w.int(884_000_000 + index)
        w.raw("IN\", \"Carrier\": ")
        w.string(Words.carriers[rng.below(Words.carriers.count)])
        w.raw(", \"Status\": \"Delivered\", \"DeliveredAtUtc\": ")
        w.dateTime(now)
        o2vendTail(w)
        emit(account, "Shipment.Delivered", entity: String(shipment), refs: [String(o2vendOrderID(index))], id: id, w)
    }

    private mutating func stockQuantityUpdate(account: Int, skuIndex: Int, previous: Int) {
        let ref = catalogs[account].skus[skuIndex]
        let p = catalogs[account].products[ref.product]
        let v = p.variants[ref.variant]
        let id = uuid()
        let w = JSONBytes(capacity: 320)
        o2vendHead(w, id: id, type: "StockQuantityUpdate", attempt: 0)
        w.raw("\"ProductId\": ")
        w.int(p.numericID)
        w.raw(", \"Sku\": ")
        w.string(v.sku)
        w.raw(", \"LocationId\": ")
        w.int(10 + skuIndex % 4)
        w.raw(", \"Quantity\": ")
        w.decimal(hundredths: stock[account][skuIndex] * 100)
        w.raw(", \"PreviousQuantity\": ")
        w.decimal(hundredths: previous * 100)
        o2vendTail(w)
        emit(account, "StockQuantityUpdate", entity: p.id, refs: [v.sku], id: id, w)
    }

    private mutating func o2vendProductCreate(account: Int, _ p: Catalog.Product) {
        let id = uuid()
        let w = JSONBytes(capacity: 640)
        o2vendHead(w, id: id, type: "Product.Create", attempt: 0)
        w.raw("\"Id\": ")
        w.int(p.numericID)
        w.raw(", \"Name\": ")
        w.string(p.name)
        w.raw(", \"Slug\": ")
        w.string(p.slug)
        w.raw(", \"Sku\": ")
        w.string(p.variants[0].sku)
        w.raw(", \"Price\": ")
        w.decimal(hundredths: p.variants[0].priceHundredths)
        w.raw(", \"OldPrice\": ")
        w.decimal(hundredths: p.variants[0].priceHundredths + 20_000)
        w.raw(", \"BrandName\": ")
        w.string(p.brand)
        w.raw(", \"IsPublished\": true, \"StockTrackingIsEnabled\": true, \"CategoryIds\": [")
        w.int(p.numericCategory)
        w.raw("], \"Variations\": [")
        var refs: [String] = []
        for (i, v) in p.variants.enumerated() {
            if i > 0 { w.raw(", ") }
            w.raw("{\"Sku\": ")
            w.string(v.sku)
            w.raw(", \"Size\": ")
            w.string(v.option)
            w.raw(", \"Price\": ")
            w.decimal(hundredths: v.priceHundredths)
            w.raw("}")
            refs.append(v.sku)
        }
        w.raw("]")
        o2vendTail(w)
        emit(account, "Product.Create", entity: p.id, refs: refs, id: id, w)
    }
}

extension SplitMix64 {
    /// The first uniform double of a fresh generator (for one-shot derived values).
    fileprivate func unit0() -> Double {
        var copy = self
        return copy.unit()
    }
}
