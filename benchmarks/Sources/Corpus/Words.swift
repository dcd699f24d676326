/// Word lists the corpus draws names, places and products from (all invented).
enum Words {
    static let companyFirst = [
        "Harbour", "Willow", "Copper", "Meadow", "Anchor", "Bramble", "Foxglove", "Linden", "Saltmarsh", "Juniper",
        "Hazel", "Orchard", "Kestrel", "Thistle", "Marigold", "Rowan", "Heron", "Ember", "Blue Door", "Lantern",
        "Meena", "Saanjh", "Kesar", "Chandan", "Neel", "Gulmohar", "Tulsi", "Mehndi",
    ]
    static let companySecond = [
        "Lane", "Street", "Yard", "House", "Corner", "Row", "Mill", "Wharf", "Green", "Bridge", "Hill", "Court",
    ]
    static let companyThird = [
        "Gifts", "Home", "Interiors", "Emporium", "Stores", "Trading", "Living", "Supply Co", "Boutique", "Kitchen",
    ]
    static let companyThirdIN = ["Traders", "Fashions", "Emporium", "Textiles", "Collections", "Boutique", "Stores"]
    static let buyers = [
        "Maya Okafor", "Tom Bright", "Priya Nair", "Ellen Marsh", "Sam Whitlock", "Aisha Rahman", "Owen Price",
        "Hannah Cole", "Ravi Menon", "Lucy Fenwick", "Dan Osei", "Grace Lowe",
    ]
    static let streets = [
        "Quay Street", "High Street", "Mill Lane", "Station Road", "Church Walk", "Market Place", "Bridge Street",
        "Park Row", "MG Road", "Linking Road", "Nehru Place", "Anna Salai",
    ]
    static let citiesGB: [(String, String)] = [
        ("Bristol", "BS1"), ("Bath", "BA1"), ("Leeds", "LS2"), ("York", "YO1"), ("Norwich", "NR2"), ("Exeter", "EX4"),
        ("Brighton", "BN1"), ("Manchester", "M4"), ("Edinburgh", "EH1"), ("Cardiff", "CF10"), ("Oxford", "OX1"),
    ]
    static let citiesIN: [(String, String)] = [
        ("Mumbai", "400"), ("Pune", "411"), ("Jaipur", "302"), ("Chennai", "600"), ("Kolkata", "700"),
        ("Bengaluru", "560"), ("Ahmedabad", "380"), ("Lucknow", "226"),
    ]
    static let postcodeTail = ["DJ", "AB", "QT", "HL", "RW", "NX", "PS", "EF"]

    struct Kind: Sendable {
        var code: String
        var name: String
        var option: String
        var price: Int  // hundredths
    }

    static let productKindsGB = [
        Kind(code: "MUG", name: "Mug", option: "Colour", price: 650),
        Kind(code: "TWL", name: "Tea Towel", option: "Pattern", price: 425),
        Kind(code: "JUG", name: "Jug", option: "Colour", price: 1200),
        Kind(code: "CAN", name: "Candle", option: "Colour", price: 900),
        Kind(code: "CRD", name: "Greeting Card", option: "Pattern", price: 120),
        Kind(code: "NBK", name: "Notebook", option: "Pattern", price: 350),
        Kind(code: "SCF", name: "Scarf", option: "Colour", price: 1800),
        Kind(code: "BWL", name: "Serving Bowl", option: "Colour", price: 1500),
        Kind(code: "PRT", name: "Art Print", option: "Pattern", price: 800),
        Kind(code: "SOP", name: "Soap Bar", option: "Pattern", price: 300),
    ]
    static let productKindsIN = [
        Kind(code: "KRT", name: "Kurti", option: "Size", price: 140_000),
        Kind(code: "SAR", name: "Saree", option: "Size", price: 320_000),
        Kind(code: "DUP", name: "Dupatta", option: "Size", price: 65_000),
        Kind(code: "KUR", name: "Kurta", option: "Size", price: 110_000),
        Kind(code: "PLZ", name: "Palazzo", option: "Size", price: 80_000),
        Kind(code: "STL", name: "Stole", option: "Size", price: 55_000),
    ]

    struct Material: Sendable {
        var code: String
        var name: String
    }

    static let materialsGB = [
        Material(code: "STW", name: "Stoneware"), Material(code: "LIN", name: "Linen"),
        Material(code: "COT", name: "Cotton"), Material(code: "WOL", name: "Wool"), Material(code: "SOY", name: "Soy"),
        Material(code: "PRC", name: "Porcelain"),
    ]
    static let materialsIN = [
        Material(code: "COT", name: "Cotton"), Material(code: "GEO", name: "Georgette"),
        Material(code: "SLK", name: "Silk"), Material(code: "CHN", name: "Chanderi"), Material(code: "LIN", name: "Linen"),
    ]
    static let colours = ["Sage", "Slate", "Ochre", "Rose", "Ink", "Chalk", "Moss", "Rust"]
    static let patterns = ["Gull", "Wave", "Fern", "Stripe", "Dot", "Leaf", "Check"]
    static let sizes = ["S", "M", "L", "XL", "XXL"]
    static let categories = ["Kitchen", "Textiles", "Stationery", "Candles", "Prints", "Bath", "Ethnic Wear", "Festive"]
    static let brands = ["Saanjh", "Kesar", "Neel", "Harbour", "Lantern"]
    static let descriptions = [
        "Hand-glazed, 350 ml", "Woven in small batches", "Printed in Bristol", "Natural dyes, pre-washed",
        "Hand block printed", "Gift boxed", "Made from recycled fibres", "Dishwasher safe",
    ]
    static let notes = [
        "", "", "", "Please deliver before noon", "Call on arrival", "Leave with neighbour", "Fragile - handle with care",
    ]
    static let internalNotes = ["", "Stock checked", "Awaiting payment", "Priority customer", "Split shipment", "Price agreed by phone"]
    static let shippingTypes = ["Standard", "Standard", "Next Day", "Pallet"]
    static let dispatchComments = ["Sent by courier, 2 boxes", "Sent by courier", "Collected", "Pallet delivery", "Royal Mail tracked"]
    static let carriers = ["Delhivery", "Blue Dart", "DTDC", "Ekart", "India Post"]
    static let paymentSources = ["bank_transfer", "card", "bank_transfer", "direct_debit"]
    static let orderspaceStatuses = ["released", "approved", "on_hold", "released"]
    static let o2vendStatuses = ["Confirmed", "Packed", "Processing", "Confirmed"]
}
