// Package reward will hold the Reward interface, the rubric reward, weighted sums, external rewards
// (HTTP, command) and the Bradley-Terry reward model. It must not update the policy's weights.
package reward
