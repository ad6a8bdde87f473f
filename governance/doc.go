// Package governance owns the consortium's membership votes (SPEC F1): a
// member organisation proposes adding or removing a member (with its
// validator power); a proposal passes with yes votes from more than 2/3 of
// the active members and then changes the validator set through CometBFT's
// validator updates. It fails once it can no longer pass, or at its deadline.
package governance
