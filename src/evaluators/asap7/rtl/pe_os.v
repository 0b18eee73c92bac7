// gem_pe, output-stationary: c accumulates in_a·in_b; on `last` the sum moves to the drain
// register o, and the o registers of a column shift the results down the d chain.
module gem_pe (input clk, input rst, input ws, input preload, input last,
  input [${IB}-1:0] in_a, input [${BW}-1:0] in_b, input [${DW}-1:0] in_d,
  output [${BW}-1:0] out_b, output [${DW}-1:0] out_d);
  reg [${AB}-1:0] c, o;
  wire signed [2*${IB}-1:0] prod = $signed(in_a) * $signed(in_b);
  wire signed [${AB}-1:0] prod_x = prod;
  wire [${AB}-1:0] sum = c + prod_x;
  assign out_b = in_b;
  assign out_d = o;
  always @(posedge clk)
    if (rst) begin c <= 0; o <= 0; end
    else begin c <= last ? {${AB}{1'b0}} : sum; o <= last ? sum : in_d; end
endmodule
