// Package fedtest is a fake fediverse for Hearth's end-to-end tests: remote
// servers that discover, fetch and deliver the way Mastodon and its peers do,
// and that check every signature Hearth sends exactly as a strict peer would.
// It verifies with github.com/go-fed/httpsig directly and checks Digest, Date
// and the signed headers itself, never through Hearth's own signature code, so
// a bug in Hearth's signer makes the fake refuse the delivery. Their actors
// sign what they send as Mastodon does (draft-cavage), or with RFC 9421
// alone when set to (Actor.MessageSignatures).
//
// A Network is one plain-HTTP httptest server hosting any number of virtual
// hosts, chosen by the Host header. Its Transport and Client reach every host
// on the network without DNS, so ids such as http://mastodon.test/users/alice
// work as they are. Hearth joins the network with Route and is handed the
// network's Transport for its own requests.
//
// A test typically does:
//
//	network := fedtest.NewNetwork(t)
//	network.Route("hearth.test", hearthRouter)
//	masto := network.NewInstance("mastodon.test")
//	alice := masto.NewActor("alice")
//	resp, err := alice.Post(ctx, "http://hearth.test/g/grief/inbox", alice.Follow("http://hearth.test/g/grief"))
//	accept := masto.AwaitDelivery(t, 5*time.Second, fedtest.OfType("Accept"))
//
// Instances have knobs (SetSoftware, SetFailure, RequireSignedFetch, HangOn),
// a count of the GETs they received (Fetches), and awaiters (AwaitDeliveries,
// AwaitDelivery, AwaitFetches) that wait on a condition, never on a timer. The package is for tests only: import it from _test.go files.
package fedtest
