package supply

import "github.com/primum-health/primum/ledger"

// Errors of codespace "supply". Codes are stable.
var (
	ErrUnknownProduct  = ledger.NewError("supply", 1, "unknown_product", 404, "no product with this GTIN is registered")
	ErrProductExists   = ledger.NewError("supply", 2, "product_exists", 409, "this GTIN is already registered")
	ErrNotManufacturer = ledger.NewError("supply", 3, "not_manufacturer", 403, "only the product's manufacturer may do this")
	ErrBadCode         = ledger.NewError("supply", 4, "bad_code", 400, "not a valid GS1 identifier")
	ErrCommissioned    = ledger.NewError("supply", 5, "already_commissioned", 409, "this serial is already commissioned")
	ErrUnknownObject   = ledger.NewError("supply", 6, "unknown_serial", 404, "no pack, case or asset with this identifier was commissioned")
	ErrNotCustodian    = ledger.NewError("supply", 7, "not_custodian", 403, "only the current custodian may do this")
	ErrInTransit       = ledger.NewError("supply", 8, "in_transit", 409, "the object is in transit; it must be received first")
	ErrNotReceiver     = ledger.NewError("supply", 9, "not_receiver", 403, "the object was shipped to another organisation")
	ErrNotShipped      = ledger.NewError("supply", 10, "not_shipped", 409, "no shipment to receive: the object is not in transit")
	ErrDecommissioned  = ledger.NewError("supply", 11, "decommissioned", 409, "the object was decommissioned; nothing may move it")
	ErrDispensed       = ledger.NewError("supply", 12, "already_dispensed", 409, "the pack was already dispensed")
	ErrRecalled        = ledger.NewError("supply", 13, "recalled", 409, "the lot is recalled")
	ErrExpired         = ledger.NewError("supply", 14, "expired", 409, "the pack is past its expiry date")
	ErrInContainer     = ledger.NewError("supply", 15, "in_container", 409, "the object is packed in a case or pallet; unpack it or move the container")
	ErrNotContainer    = ledger.NewError("supply", 16, "not_a_container", 400, "a parent must be an SSCC (case or pallet)")
	ErrQuarantined     = ledger.NewError("supply", 17, "quarantined", 409, "the pack is quarantined as suspect")
	ErrBadExpiry       = ledger.NewError("supply", 18, "bad_expiry", 400, "expiry must be a date YYYY-MM-DD")
	ErrTooMany         = ledger.NewError("supply", 19, "too_many", 400, "too many identifiers in one transaction (limit 1000)")
	ErrDuplicateEvent  = ledger.NewError("supply", 20, "duplicate_event", 409, "this EPCIS event id was already recorded")
	ErrBadReason       = ledger.NewError("supply", 21, "bad_reason", 400, "unknown reason")
	ErrNotAsset        = ledger.NewError("supply", 22, "not_an_asset", 400, "this action applies to returnable assets (GRAI) only")
	ErrNotChild        = ledger.NewError("supply", 23, "not_a_child", 409, "the object is not packed in this container")
	ErrBadField        = ledger.NewError("supply", 24, "bad_field", 400, "a field is missing or invalid")
	ErrUnknownOrg      = ledger.NewError("supply", 25, "unknown_organisation", 404, "the receiving organisation is not an active member")
)
