/// The fixed world an account's events talk about: its customers and its products with their SKUs.
///
/// Built once per generator from the seed; events then only pick from it, which keeps generation fast
/// and makes every mention of a customer or SKU consistent across the corpus.
struct Catalog: Sendable {
    final class Customer: Sendable {
        let id: String
        let numericID: Int
        let company: String
        let buyer: String
        let emailDomain: String
        let phone: String
        let line1: String
        let city: String
        let postcode: String
        let reference: String
        let taxNumber: String
        let paymentTermsID: String
        let groupID: String
        let createdAt: Int64

        init(id: String, numericID: Int, company: String, buyer: String, emailDomain: String, phone: String, line1: String, city: String, postcode: String, reference: String, taxNumber: String, paymentTermsID: String, groupID: String, createdAt: Int64) {
            self.id = id
            self.numericID = numericID
            self.company = company
            self.buyer = buyer
            self.emailDomain = emailDomain
            self.phone = phone
            self.line1 = line1
            self.city = city
            self.postcode = postcode
            self.reference = reference
            self.taxNumber = taxNumber
            self.paymentTermsID = paymentTermsID
            self.groupID = groupID
            self.createdAt = createdAt
        }
    }


    final class Variant: Sendable {
        let id: String
        let sku: String
        let barcode: String
        let option: String
        let priceHundredths: Int

        init(id: String, sku: String, barcode: String, option: String, priceHundredths: Int) {
            self.id = id
            self.sku = sku
            self.barcode = barcode
            self.option = option
            self.priceHundredths = priceHundredths
        }
    }


    final class Product: Sendable {
        let id: String
        let numericID: Int
        let code: String
        let name: String
        let description: String
        let composition: String
        let optionName: String
        let categoryID: String
        let categoryName: String
        let numericCategory: Int
        let brand: String
        let slug: String
        let variants: [Variant]

        init(id: String, numericID: Int, code: String, name: String, description: String, composition: String, optionName: String, categoryID: String, categoryName: String, numericCategory: Int, brand: String, slug: String, variants: [Variant]) {
            self.id = id
            self.numericID = numericID
            self.code = code
            self.name = name
            self.description = description
            self.composition = composition
            self.optionName = optionName
            self.categoryID = categoryID
            self.categoryName = categoryName
            self.numericCategory = numericCategory
            self.brand = brand
            self.slug = slug
            self.variants = variants
        }
    }


    struct SKURef: Sendable {
        var product: Int
        var variant: Int
    }

    var customers: [Customer] = []
    var products: [Product] = []
    var skus: [SKURef] = []
    /// The index in `skus` of each product's first variant.
    var firstSKU: [Int] = []

    func variant(_ ref: SKURef) -> Variant { products[ref.product].variants[ref.variant] }

    init(accountIndex: Int, source: CorpusSource, seed: UInt64, customers customerCount: Int, products productCount: Int) {
        var rng = SplitMix64(seed: SplitMix64.hash(seed, 0xCA7A_1060, UInt64(accountIndex)))
        let a = UInt64(accountIndex)
        let o2 = source == .o2vend
        let base = Int64(1_767_225_600)  // 2026-01-01T00:00:00Z: customers and products predate the corpus
        for c in 0..<customerCount {
            let first = Words.companyFirst[rng.below(Words.companyFirst.count)]
            let second = Words.companySecond[rng.below(Words.companySecond.count)]
            let third = o2 ? Words.companyThirdIN[rng.below(Words.companyThirdIN.count)] : Words.companyThird[rng.below(Words.companyThird.count)]
            let company = o2 ? "\(first) \(third)" : "\(first) \(second) \(third)"
            let slug = (first + second).lowercased().filter { $0.isLetter }
            let city = o2 ? Words.citiesIN[rng.below(Words.citiesIN.count)] : Words.citiesGB[rng.below(Words.citiesGB.count)]
            let numeric = 5000 + accountIndex * 100_000 + c
            customers.append(
                Customer(
                    id: o2 ? String(numeric) : Ids.orderspace("cu_", SplitMix64.hash(a, 11, UInt64(c))),
                    numericID: numeric,
                    company: company,
                    buyer: Words.buyers[rng.below(Words.buyers.count)],
                    emailDomain: slug + ".example",
                    phone: o2 ? "+91 \(90000 + rng.below(9999)) \(10000 + rng.below(89999))" : "0\(113 + rng.below(800)) 496 \(1000 + rng.below(8999))",
                    line1: "\(1 + rng.below(180)) \(Words.streets[rng.below(Words.streets.count)])",
                    city: city.0,
                    postcode: city.1 + (o2 ? String(100 + rng.below(899)) : " \(1 + rng.below(9))\(Words.postcodeTail[rng.below(Words.postcodeTail.count)])"),
                    reference: String(company.split(separator: " ").map { $0.first! }) + String(c % 97),
                    taxNumber: o2 ? "27AAB\(1000 + rng.below(8999))C1Z\(rng.below(9))" : "GB\(100_000_000 + rng.below(899_999_999))",
                    paymentTermsID: Ids.orderspace("pt_", SplitMix64.hash(a, 12, UInt64(rng.below(4)))),
                    groupID: Ids.orderspace("cg_", SplitMix64.hash(a, 13, UInt64(rng.below(6)))),
                    createdAt: base - Int64(rng.below(400 * 86_400))
                ))
        }
        let kinds = o2 ? Words.productKindsIN : Words.productKindsGB
        for p in 0..<productCount {
            let kind = kinds[rng.below(kinds.count)]
            let materials = o2 ? Words.materialsIN : Words.materialsGB
            let material = materials[rng.below(materials.count)]
            let code = o2 ? "\(kind.code)-\(material.code)\(p)" : "\(kind.code)-\(material.code)\(p)"
            let optionName = o2 ? "Size" : kind.option
            let options = o2 ? Words.sizes : (kind.option == "Colour" ? Words.colours : Words.patterns)
            let variantCount = 1 + rng.below(4)
            let start = rng.below(options.count)
            var variants: [Variant] = []
            for v in 0..<variantCount {
                let option = options[(start + v) % options.count]
                let sku = o2 ? "\(code)-\(option)" : "\(code)-0\(v + 1)"
                variants.append(
                    Variant(
                        id: Ids.orderspace("pv_", SplitMix64.hash(a, 21, UInt64(p * 8 + v))),
                        sku: sku,
                        barcode: String(5_060_000_000_000 + p * 10 + v),
                        option: option,
                        priceHundredths: kind.price + (o2 ? 5000 : 25) * rng.below(8)))
            }
            let category = rng.below(Words.categories.count)
            let numeric = 160_000 + accountIndex * 100_000 + p
            let name = "\(material.name) \(kind.name)"
            products.append(
                Product(
                    id: o2 ? String(numeric) : Ids.orderspace("pr_", SplitMix64.hash(a, 22, UInt64(p))),
                    numericID: numeric,
                    code: code,
                    name: name,
                    description: Words.descriptions[rng.below(Words.descriptions.count)],
                    composition: material.name,
                    optionName: optionName,
                    categoryID: Ids.orderspace("ca_", SplitMix64.hash(a, 23, UInt64(category))),
                    categoryName: Words.categories[category],
                    numericCategory: 3500 + category,
                    brand: Words.brands[rng.below(Words.brands.count)],
                    slug: name.lowercased().replacingOccurrences(" ", with: "-"),
                    variants: variants))
            firstSKU.append(skus.count)
            for v in 0..<variantCount { skus.append(SKURef(product: p, variant: v)) }
        }
    }
}

extension String {
    fileprivate func replacingOccurrences(_ target: Character, with replacement: String) -> String {
        var out = ""
        for ch in self { if ch == target { out += replacement } else { out.append(ch) } }
        return out
    }
}

/// Orderspace-style IDs (`or_k7m2q9xa`): a prefix and 8 base-36 characters of a hash.
enum Ids {
    static let alphabet: [UInt8] = Array("0123456789abcdefghijklmnopqrstuvwxyz".utf8)

    @inline(__always)
    static func orderspace(_ prefix: StaticString, _ hash: UInt64) -> String {
        var h = hash
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 16) { buf in
            var n = 0
            prefix.withUTF8Buffer { p in
                for b in p {
                    buf[n] = b
                    n += 1
                }
            }
            for _ in 0..<8 {
                buf[n] = alphabet[Int(h % 36)]
                h /= 36
                n += 1
            }
            return String(decoding: UnsafeBufferPointer(rebasing: buf[0..<n]), as: UTF8.self)
        }
    }

    /// A version-4 UUID in lower-case text, from two random words.
    @inline(__always)
    static func uuid(_ hi: UInt64, _ lo: UInt64) -> String {
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        let hi = (hi & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000
        let lo = (lo & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000
        return String(unsafeUninitializedCapacity: 36) { buf in
            var n = 0
            for i in 0..<32 {
                if i == 8 || i == 12 || i == 16 || i == 20 {
                    buf[n] = 0x2D
                    n += 1
                }
                let word = i < 16 ? hi : lo
                let shift = UInt64(60 - 4 * (i % 16))
                buf[n] = hex[Int((word >> shift) & 15)]
                n += 1
            }
            return n
        }
    }
}
