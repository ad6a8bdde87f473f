// Package supply owns the medicine supply chain on the ledger (SPEC F6):
// products by GTIN, serialised packs (SGTIN) with lot and expiry, logistic
// units (SSCC) and returnable assets (GRAI), and the custody rules every
// hand-over must keep: only the custodian ships, a receipt matches a
// shipment to the receiver, packing moves children with their parent, a
// pack is dispensed once, nothing moves after decommissioning, and a
// recalled or expired pack is never dispensed. It keeps which member holds
// which GS1 company prefix, and lets no other create identifiers under it.
// It answers the pharmacist's question "may I dispense this pack?" with one
// Verdict.
//
// It holds no patient data: a dispensing records the pharmacy, never the patient.
package supply
